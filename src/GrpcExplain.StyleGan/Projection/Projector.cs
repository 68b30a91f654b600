using System.Diagnostics;
using GrpcExplain.StyleGan.Encoding;
using GrpcExplain.StyleGan.Training;

namespace GrpcExplain.StyleGan.Projection;

/// <summary>
/// Projection of an image into a generator's latent space by gradient steps through synthesis, after
/// NVIDIA stylegan2-ada-pytorch's projector.py: Adam from the mean w of mapped samples (or, with an
/// <see cref="Encoder"/>, from its w for the target: a warm start that needs fewer steps, taken without
/// w noise), its learning-rate and w-noise schedule, optionally the noise maps too (regularised, renormalised every step). Our
/// loss is pixel MSE plus 1 − MS-SSIM (<see cref="ProjectionOptions"/>); every step is one recorded
/// synthesis and one latent gradient on the generator's backend, the loss and its image gradient on
/// the host. Not thread-safe, as the generator is not.
/// </summary>
public sealed class Projector
{
    private readonly Generator _generator;
    private readonly WStatistics _start;
    private readonly ImageShape _shape;
    private readonly Encoder? _encoder;

    /// <param name="start">Where to start: usually <see cref="WStatistics.Sample"/> of the same generator, computed once and reused.</param>
    /// <param name="encoder">The generator's encoder (checked to belong to it), for warm starts; null projects from the mean w.</param>
    public Projector(Generator generator, WStatistics start, Encoder? encoder = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(start);
        if (start.Mean.Length != generator.Config.WDim)
            throw new ArgumentException($"The start holds {start.Mean.Length} values; this generator's w has {generator.Config.WDim}.", nameof(start));
        if (encoder is not null && Encoder.Mismatch(encoder.Config, generator) is { } mismatch)
            throw new ArgumentException($"The encoder does not belong to this generator: {mismatch}", nameof(encoder));
        (_generator, _start, _encoder) = (generator, start, encoder);
        _shape = new ImageShape(generator.Config.ImgChannels, generator.Config.ImgResolution, generator.Config.ImgResolution);
    }

    /// <summary>Whether projections with <see cref="ProjectionStart.Auto"/> start from the encoder.</summary>
    public bool HasEncoder => _encoder is not null;

    /// <summary>
    /// Projects <paramref name="target"/> ([C, res, res] in [-1, 1]). <paramref name="progress"/> is called
    /// after every step on the calling thread; <paramref name="cancellation"/> is checked before every step
    /// and stops the work with <see cref="OperationCanceledException"/>.
    /// </summary>
    public ProjectionResult Project(float[] target, ProjectionOptions options, Action<ProjectionProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problem() is { } problem) throw new ArgumentException(problem, nameof(options));
        if (target.Length != _shape.Length)
            throw new ArgumentException($"The target holds {target.Length} values; this generator's images are {_shape} ({_shape.Length}).", nameof(target));
        int bad = Array.FindIndex(target, v => !float.IsFinite(v));
        if (bad >= 0) throw new ArgumentException($"The target holds a non-finite value at element {bad}.", nameof(target));

        if (options.Start == ProjectionStart.Encoder && _encoder is null)
            throw new ArgumentException("Projection from the encoder was asked for, but this generator has no encoder.", nameof(options));

        var clock = Stopwatch.StartNew();
        var config = _generator.Config;
        int wDim = config.WDim, rows = options.LatentSpace == LatentSpace.WPlus ? config.NumWs : 1;
        var start = options.Start != ProjectionStart.WAvg && _encoder is not null ? ProjectionStart.Encoder : ProjectionStart.WAvg;
        var startW = start == ProjectionStart.Encoder ? _encoder!.Encode(target, 1) : _start.Mean;
        if (start == ProjectionStart.Encoder) options = options.WarmStarted();
        var w = new float[rows * wDim];
        for (int l = 0; l < rows; l++) startW.CopyTo(w, l * wDim);
        var random = new Random(options.Seed);
        var layers = _generator.NoiseLayers;
        var noise = options.OptimizeNoise
            ? layers.ToDictionary(l => l.Name, l => Gaussian(random, l.Resolution * l.Resolution))
            : null;
        var adam = new Adam([w, .. noise is null ? [] : layers.Select(l => noise[l.Name])]);
        var loss = new ReconstructionLoss(target, _shape, options.PixelWeight, options.StructuralWeight);
        var imageGradient = new float[_shape.Length];

        for (int step = 0; step < options.NumSteps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            double lr = options.LearningRate(step), wNoise = options.WNoiseScale(step, _start.Std);
            var ws = w.ToArray();
            if (wNoise > 0)
                for (int i = 0; i < ws.Length; i++) ws[i] += (float)(wNoise * Gaussian(random));
            using var pass = Forward(ws, noise);
            var terms = loss.Evaluate(pass.Images, imageGradient);
            var gradient = pass.Backward(imageGradient, noise: noise is not null);
            double total = terms.Loss;
            if (noise is not null)
                total += options.NoiseRegularizationWeight * NoiseRegularization.Penalty(layers, noise, options.NoiseRegularizationWeight, gradient.Noise);
            adam.Step(lr, [gradient.Ws, .. noise is null ? [] : layers.Select(l => gradient.Noise![l.Name])]);
            if (noise is not null)
                foreach (var map in noise.Values) NoiseRegularization.Normalize(map);

            int done = step + 1;
            var preview = options.ReconstructionInterval > 0 && done % options.ReconstructionInterval == 0 ? Synthesize(w, noise) : null;
            progress?.Invoke(new ProjectionProgress(done, options.NumSteps, (float)total, (float)terms.MeanSquaredError, (float)terms.MsSsim, (float)lr, clock.Elapsed, preview));
        }

        var reconstruction = Synthesize(w, noise);
        var final = loss.Evaluate(reconstruction, null);
        double finalLoss = final.Loss + (noise is null ? 0 : options.NoiseRegularizationWeight * NoiseRegularization.Penalty(layers, noise));
        var shown = Array.ConvertAll(reconstruction, v => Math.Clamp(v, -1f, 1f));
        return new ProjectionResult(w, options.LatentSpace, noise, reconstruction, (float)finalLoss,
            (float)ImageMetrics.MeanSquaredError(shown, target), ImageMetrics.Psnr(shown, target),
            ImageMetrics.Ssim(shown, target, _shape), ImageMetrics.MsSsim(shown, target, _shape), options.NumSteps, clock.Elapsed, start);
    }

    private SynthesisPass Forward(float[] ws, Dictionary<string, float[]>? noise) =>
        noise is null ? _generator.Forward(ws, 1) : _generator.Forward(ws, 1, noise);

    private float[] Synthesize(float[] ws, Dictionary<string, float[]>? noise) =>
        noise is null ? _generator.Synthesize(ws, 1) : _generator.Synthesize(ws, 1, noise);

    private static float[] Gaussian(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)Gaussian(random);
        return values;
    }

    /// <summary>A standard normal value (Box–Muller).</summary>
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

/// <summary>PixelWeight·MSE + StructuralWeight·(1 − MS-SSIM) of an image against the target, and its gradient.</summary>
internal sealed class ReconstructionLoss(float[] target, ImageShape shape, float pixelWeight, float structuralWeight)
{
    private readonly float[] _msSsimGradient = new float[shape.Length];

    public (double Loss, double MeanSquaredError, double MsSsim) Evaluate(float[] image, float[]? gradient)
    {
        double mse = ImageMetrics.MeanSquaredError(image, target);
        double msSsim = ImageMetrics.MsSsim(image, target, shape, gradient is not null && structuralWeight > 0 ? _msSsimGradient : []);
        if (gradient is not null)
            for (int i = 0; i < gradient.Length; i++)
                gradient[i] = (float)(pixelWeight * 2.0 * (image[i] - target[i]) / image.Length - (structuralWeight > 0 ? structuralWeight * _msSsimGradient[i] : 0));
        return (pixelWeight * mse + structuralWeight * (1 - msSsim), mse, msSsim);
    }
}
