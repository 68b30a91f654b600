using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcExplain.Classifiers;
using GrpcExplain.Cli.Explain;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Kernels;
using GrpcExplain.Protos.V1;
using DirectionMethod = GrpcExplain.Explain.DirectionMethod;

namespace GrpcExplain.Cli.Demo;

internal sealed record DemoSettings(string ModelsRoot, string OutputDirectory, int Frames, int ProjectionSteps, int ProbeSamples, string Backend);

/// <summary>
/// The demo: every trained bundled pairing in turn (histology, radiology; the synthetic placeholder only
/// when nothing trained is bundled, and then the output says so), each served by the three services on
/// loopback ports in this process, as <c>serve all</c> runs them; then, all through the services, for its first
/// classifier: each example input classified, the direction towards the other class fitted (FitDirection),
/// the walk's reach measured on the generator's latents (MapLatents), and the input explained (Explain)
/// into a folder of its own (under a folder per pairing when there are several).
/// </summary>
internal sealed class DemoRun(DemoSettings settings, TextWriter stdout, TextWriter stderr, bool interactive)
{
    private const int GeneratedInputs = 3;

    /// <summary>Held-out ROC AUC under which a linear probe is too weak to walk along (0.5: chance).</summary>
    internal const double WeakProbeAuc = 0.75;

    /// <summary>
    /// The paper's linear probe, unless it separates the classifier's decisions on generated images too poorly
    /// (held-out AUC under <see cref="WeakProbeAuc"/>) and the classifier is a white box: then the gradient of
    /// the target's logit, pulled back into W, which walks each input the right way whatever the probe learnt.
    /// </summary>
    internal static DirectionMethod Method(double probeAuc, bool whiteBox) =>
        probeAuc < WeakProbeAuc && whiteBox ? DirectionMethod.Gradient : DirectionMethod.LinearProbe;

    /// <summary>
    /// The default walk's length, as <c>explain</c> chooses it: <see cref="ExplainSettings.SpreadsWalked"/> spreads
    /// of the latents along the probe's direction, or, for a gradient (found only during the explanation, a
    /// direction of its own for each input), their mean spread over all directions.
    /// </summary>
    internal static float Reach(Latents latents, float[] probeDirection, DirectionMethod method) =>
        LatentSpread.Reach(latents, method == DirectionMethod.LinearProbe ? probeDirection : null);

    public async Task<int> ExecuteAsync(CancellationToken cancellation)
    {
        var usable = ModelCatalog.Scan(settings.ModelsRoot).Where(p => p.Classifiers.Count > 0).ToList();
        if (usable.Count == 0)
            throw new UsageException($"{settings.ModelsRoot} holds no model pairing with a classifier ({ModelPairing.GeneratorFile} and {ModelPairing.ClassifiersFolder}/MODEL/): name another with --models DIR.");
        var trained = usable.Where(p => !p.Synthetic).ToList();
        var pairings = trained.Count > 0 ? trained : [usable[0]];
        foreach (var pairing in pairings)
        {
            string output = Path.GetFullPath(pairings.Count == 1 ? settings.OutputDirectory : Path.Combine(settings.OutputDirectory, pairing.Name));
            await ExplainPairingAsync(pairing, output, cancellation).ConfigureAwait(false);
        }
        return ExitCodes.Success;
    }

    private async Task ExplainPairingAsync(ModelPairing pairing, string output, CancellationToken cancellation)
    {
        string classifier = pairing.Classifiers[0];
        stdout.WriteLine(pairing.Synthetic
            ? $"Models: {pairing.Name}, a SYNTHETIC PLACEHOLDER (random generator; a classifier built on a known latent direction), not a trained model: " +
              $"the explanations show the system at work, not anything medical. No trained pairing is bundled yet ({pairing.CardPath})."
            : $"Models: {pairing.Name} ({pairing.CardPath}).");
        Directory.CreateDirectory(output);

        await using var services = await LoopbackServices.StartAsync(pairing, Path.Combine(output, "directions.db"), settings.ProbeSamples, settings.Backend,
            stdout, stderr, cancellation).ConfigureAwait(false);
        using var generatorChannel = GrpcChannel.ForAddress(services.Generator);
        using var classifierChannel = GrpcChannel.ForAddress(services.Classifier);
        using var coordinatorChannel = GrpcChannel.ForAddress(services.Coordinator);
        try
        {
            var generatorClient = new GeneratorService.GeneratorServiceClient(generatorChannel);
            var info = await generatorClient.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: cancellation).ConfigureAwait(false);
            var latents = await MapSpreadSamplesAsync(generatorClient, info, cancellation).ConfigureAwait(false);
            var inputs = pairing.Examples.Count > 0 ? pairing.Examples : await GenerateInputsAsync(generatorClient, latents, output, cancellation).ConfigureAwait(false);

            var config = ClassifierConfig.Load(Path.Combine(pairing.ClassifierRepository, classifier, ClassifierConfig.FileName));
            using var model = await OipClassifier.ConnectAsync(classifierChannel, classifier, null, config, cancellationToken: cancellation).ConfigureAwait(false);
            var explainer = new ExplainerService.ExplainerServiceClient(coordinatorChannel);
            var reach = new Dictionary<int, (float MaxAlpha, DirectionMethod Method)>();
            var folders = new List<string>();
            foreach (string input in inputs)
            {
                var image = ExplainImages.Read(input, info.ImageChannels, info.ImageResolutionPixels, config.Fit);
                var predictions = await model.ClassifyAsync(image, cancellation).ConfigureAwait(false);
                int predicted = predictions.PredictedClass(0);
                // Towards the most probable of the other classes: what would make the model change its mind.
                int target = Enumerable.Range(0, predictions.ClassLabels.Count).Where(k => k != predicted).MaxBy(k => predictions.Probability(0, k));
                if (!reach.TryGetValue(target, out var walk))
                {
                    var (direction, auc) = await FitDirectionAsync(explainer, classifier, target, cancellation).ConfigureAwait(false);
                    var method = Method(auc, model is IImageGradientClassifier);
                    walk = reach[target] = (Reach(latents, direction, method), method);
                    if (walk.Method == DirectionMethod.Gradient)
                        stdout.WriteLine($"The linear probe towards '{predictions.ClassLabels[target]}' separates the classifier's decisions on generated images poorly " +
                            $"(held-out AUC {auc:F2}, under {WeakProbeAuc:F2}): walking along the gradient of its logit instead ('{classifier}' is a white box).");
                }
                string folder = Path.Combine(output, Path.GetFileNameWithoutExtension(input));
                stdout.WriteLine($"Explaining {input}: predicted '{predictions.ClassLabels[predicted]}', walking towards '{predictions.ClassLabels[target]}'.");
                var explain = new ExplainSettings(input, services.Coordinator, classifier, target.ToString(System.Globalization.CultureInfo.InvariantCulture), settings.Frames,
                    folder, settings.ProjectionSteps, WPlus: false, walk.Method, walk.MaxAlpha, ExplainSettings.DefaultStopAt, null, BackendKind.Auto, settings.ProbeSamples, "");
                using var progress = new ConsoleProgress(stderr, interactive);
                var summary = await CoordinatorExplanation.RunAsync(explain, progress, cancellation).ConfigureAwait(false);
                progress.Dispose();
                ExplainRun.Report(summary, folder, stdout);
                folders.Add(folder);
            }
            stdout.WriteLine($"Results in {output}: {string.Join(", ", folders.Select(Path.GetFileName))} (each with strip.png, walk.gif, probability.png, heatmap.png, summary.json)." +
                (pairing.Synthetic ? $" Made with the synthetic placeholder '{pairing.Name}', not a trained model." : ""));
        }
        catch (RpcException e) when (!cancellation.IsCancellationRequested)
        {
            throw new InvalidOperationException($"the demo's services failed: {e.StatusCode}: {e.Status.Detail}", e);
        }
        finally
        {
            await services.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The <see cref="LatentSpread"/> samples, mapped by the generator service in batches it accepts.</summary>
    private static async Task<Latents> MapSpreadSamplesAsync(GeneratorService.GeneratorServiceClient generator, GetModelInfoResponse info, CancellationToken cancellation)
    {
        var (z, c) = LatentSpread.SampleZ(info.ZDim, info.CDim);
        int n = LatentSpread.Samples, batch = Math.Max(1, info.MaxBatchSize);
        var w = new float[n * info.WDim];
        for (int start = 0; start < n; start += batch)
        {
            int count = Math.Min(batch, n - start);
            var request = new MapLatentsRequest { Z = Tensor(z.AsSpan(start * info.ZDim, count * info.ZDim), count, info.ZDim) };
            if (c is not null) request.C = Tensor(c.AsSpan(start * info.CDim, count * info.CDim), count, info.CDim);
            var ws = MemoryMarshal.Cast<byte, float>((await generator.MapLatentsAsync(request, cancellationToken: cancellation).ConfigureAwait(false)).Ws.Data.Span);
            for (int i = 0; i < count; i++) ws.Slice(i * info.NumWs * info.WDim, info.WDim).CopyTo(w.AsSpan((start + i) * info.WDim));
        }
        return new Latents(w, n, info.WDim);
    }

    /// <summary>A pairing without examples: the generator's images of the first sampled latents, as inputs.</summary>
    private static async Task<IReadOnlyList<string>> GenerateInputsAsync(GeneratorService.GeneratorServiceClient generator, Latents latents, string output, CancellationToken cancellation)
    {
        var ws = latents.Slice(0, GeneratedInputs);
        var response = await generator.SynthesizeAsync(new SynthesizeRequest { Ws = Tensor(ws.Values, ws.Count, ws.WDim), IncludePng = true }, cancellationToken: cancellation).ConfigureAwait(false);
        string folder = Directory.CreateDirectory(Path.Combine(output, "inputs")).FullName;
        var paths = new List<string>();
        for (int i = 0; i < response.PngImages.Count; i++)
        {
            paths.Add(Path.Combine(folder, $"generated_{i}.png"));
            await File.WriteAllBytesAsync(paths[^1], response.PngImages[i].ToByteArray(), cancellation).ConfigureAwait(false);
        }
        return paths;
    }

    private async Task<(float[] Direction, double HeldOutAuc)> FitDirectionAsync(ExplainerService.ExplainerServiceClient explainer, string classifier, int target, CancellationToken cancellation)
    {
        using var progress = new ConsoleProgress(stderr, interactive);
        using var call = explainer.FitDirection(new FitDirectionRequest { ClassifierModel = new ClassifierModel { Name = classifier }, TargetClass = target }, cancellationToken: cancellation);
        await foreach (var message in call.ResponseStream.ReadAllAsync(cancellation).ConfigureAwait(false))
        {
            if (message.EventCase == FitDirectionResponse.EventOneofCase.Progress)
                progress.Report($"fitting the direction ({message.Progress.Stage})", message.Progress.SamplesDone, message.Progress.NumSamples);
            else if (message.EventCase == FitDirectionResponse.EventOneofCase.Result)
                return (MemoryMarshal.Cast<byte, float>(message.Result.Direction.Data.Span).ToArray(), message.Result.HeldOutAuc);
        }
        throw new InvalidOperationException("the coordinator's FitDirection ended without a result.");
    }

    private static Protos.V1.Tensor Tensor(ReadOnlySpan<float> values, params int[] shape)
    {
        var tensor = new Protos.V1.Tensor { Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        foreach (int d in shape) tensor.Shape.Add(d);
        return tensor;
    }
}
