using System.Globalization;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Explain;
using GrpcExplain.Explain.Directions;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Explain.Walks;
using GrpcExplain.Kernels;

namespace GrpcExplain.Cli.Explain;

/// <summary>Where a walk goes: the direction (stored, for a linear probe) and how far along it.</summary>
internal sealed record WalkChoice(StoredDirection? Direction, float MaxAlpha, WalkPlan Plan);

/// <summary>
/// The method in this process over one bundled pairing: its generator (<see cref="InProcessGenerator"/>),
/// one of its classifiers run by ONNX Runtime (a white box, with image gradients and Grad-CAM, when its
/// folder has reference.safetensors: <see cref="OnnxWhiteBoxClassifier"/>), and the direction store. <see cref="ChooseWalkAsync"/>
/// finds (or fits, once) the direction before the explanation starts, so that its progress can be shown
/// and the default walk can be scaled to the generator's latents along it.
/// </summary>
internal sealed class InProcessExplainer : IDisposable
{
    private readonly ExplainerSettings _settings = new();

    private InProcessExplainer(ModelPairing pairing, InProcessGenerator generator, IClassifier classifier, LinearProbeDirections probes) =>
        (Pairing, Generator, Classifier, Probes) = (pairing, generator, classifier, probes);

    public ModelPairing Pairing { get; }

    public InProcessGenerator Generator { get; }

    public IClassifier Classifier { get; }

    /// <summary>Whether the classifier gives image gradients (the gradient direction) and Grad-CAM.</summary>
    public bool IsWhiteBox => Classifier is IImageGradientClassifier;

    public LinearProbeDirections Probes { get; }

    /// <param name="useEncoder">Warm-start projections from the pairing's encoder when it has one trained for its generator.</param>
    public static InProcessExplainer Open(ModelPairing pairing, string classifier, BackendKind backend, string directionsPath, bool useEncoder = true)
    {
        var generator = InProcessGenerator.Load(pairing.GeneratorPath, backend, useEncoder);
        IClassifier? onnx = null;
        try
        {
            onnx = OnnxWhiteBoxClassifier.Open(pairing.ClassifierRepository, classifier, options: new OnnxOptions { ExecutionProvider = ExecutionProvider.Cpu });
            var (d, info) = (onnx.Description, generator.Info);
            if (d.Channels != info.ImageChannels || d.Height != info.ImageResolution || d.Width != info.ImageResolution)
                throw new InvalidDataException($"Pairing '{pairing.Name}': classifier '{classifier}' takes {d.Channels}x{d.Height}x{d.Width} images and the generator makes " +
                    $"{info.ImageChannels}x{info.ImageResolution}x{info.ImageResolution}; a pairing's classifiers must take its generator's images.");
            return new InProcessExplainer(pairing, generator, onnx, new LinearProbeDirections(new DirectionStore(directionsPath)));
        }
        catch
        {
            onnx?.Dispose();
            generator.Dispose();
            throw;
        }
    }

    /// <summary>The class index of a target given as an index or a label.</summary>
    public int TargetClass(string target)
    {
        var labels = Classifier.Description.ClassLabels;
        int index = int.TryParse(target, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : IndexOf(labels, target);
        if (index < 0 || index >= labels.Count)
            throw new UsageException($"--target '{target}': classifier '{Classifier.Description.Model}' has classes {string.Join(", ", labels.Select((l, k) => $"{k} ({l})"))}.");
        return index;
    }

    /// <summary>
    /// The direction (a stored linear probe, fitted first when missing) and the walk: from the
    /// reconstruction towards the target up to <paramref name="maxAlpha"/>, by default
    /// <see cref="ExplainSettings.SpreadsWalked"/> spreads of the generator's latents along the direction
    /// (for a gradient, found only later, the latents' mean spread over all directions).
    /// </summary>
    public async Task<WalkChoice> ChooseWalkAsync(int targetClass, DirectionMethod method, int probeSamples, float? maxAlpha, float? stopAt, int frames,
        Func<FitProgress, CancellationToken, ValueTask>? progress, CancellationToken cancellationToken)
    {
        StoredDirection? stored = null;
        if (method == DirectionMethod.LinearProbe)
            (stored, _) = await Probes.GetOrFitAsync(Generator, Classifier, targetClass, ProbeSettings(probeSamples), refit: false, progress, cancellationToken).ConfigureAwait(false);
        float reach = maxAlpha ?? await ReachAsync(stored?.Vector, cancellationToken).ConfigureAwait(false);
        WalkPlan plan = stopAt is { } p ? new UntilProbabilityWalk(p, reach, frames) : new AlphaRangeWalk(0, reach, frames);
        return new WalkChoice(stored, reach, plan);
    }

    public IAsyncEnumerable<ExplanationEvent> ExplainAsync(ImageBatch image, int targetClass, DirectionMethod method, WalkChoice walk, int projectionSteps, bool wPlus,
        int probeSamples, CancellationToken cancellationToken)
    {
        var job = new ExplainJob(image, targetClass, method, walk.Plan, new ProjectionOptions(wPlus, projectionSteps), ProbeSettings(probeSamples), walk.Direction);
        return new Explainer(Generator, Generator, Probes, _settings).ExplainAsync(job, Classifier, cancellationToken);
    }

    private static ProbeSettings ProbeSettings(int samples) => new(NumSamples: samples);

    private async Task<float> ReachAsync(float[]? direction, CancellationToken cancellationToken)
    {
        var info = Generator.Info;
        var (z, c) = LatentSpread.SampleZ(info.ZDim, info.CDim);
        return LatentSpread.Reach(await Generator.MapAsync(z, c, LatentSpread.Samples, 1f, cancellationToken).ConfigureAwait(false), direction);
    }

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (int k = 0; k < labels.Count; k++)
            if (string.Equals(labels[k], label, StringComparison.OrdinalIgnoreCase)) return k;
        return -1;
    }

    public void Dispose()
    {
        Classifier.Dispose();
        Generator.Dispose();
    }
}
