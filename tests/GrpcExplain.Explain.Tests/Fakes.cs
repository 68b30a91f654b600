using System.Runtime.CompilerServices;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Generation;

namespace GrpcExplain.Explain.Tests;

/// <summary>
/// A generator whose synthesis is linear, so every quantity of the method has a closed form: w = z,
/// image = <see cref="Gain"/> × w laid out as a 1×4×4 image (W+: the mean of the layers' ws), and its
/// projection inverts that exactly.
/// </summary>
internal sealed class LinearGenerator(int maxBatchSize = 16) : IGeneratorClient, ILatentEncoder
{
    public const int WDim = 16, NumWs = 2, Resolution = 4;
    public const float Gain = 0.25f;

    public GeneratorInfo Info { get; } = new(WDim, 0, WDim, NumWs, 1, Resolution, "sha-of-linear-generator", maxBatchSize);

    public int SynthesizedSamples;

    public Task<GeneratorInfo> GetInfoAsync(CancellationToken cancellationToken) => Task.FromResult(Info);

    public Task<Latents> MapAsync(float[] z, float[]? c, int count, float truncationPsi, CancellationToken cancellationToken) =>
        Task.FromResult(new Latents([.. z.Select(v => v * truncationPsi)], count, WDim));

    public async Task<ImageBatch> SynthesizeAsync(Latents ws, CancellationToken cancellationToken)
    {
        Assert.True(ws.Count <= Info.MaxBatchSize, $"{ws.Count} samples in one call, more than max_batch_size");
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Add(ref SynthesizedSamples, ws.Count);
        var images = new float[ws.Count * WDim];
        for (int n = 0; n < ws.Count; n++)
        {
            var row = ws.Row(n);
            int layers = Math.Max(ws.NumWs, 1);
            for (int l = 0; l < layers; l++)
                for (int j = 0; j < WDim; j++) images[n * WDim + j] += Gain * row[l * WDim + j] / layers;
        }
        return new ImageBatch(images, ws.Count, 1, Resolution, Resolution);
    }

    public Task<Latents> LatentGradientAsync(Latents ws, float[] imageGradient, CancellationToken cancellationToken)
    {
        var gradient = new float[ws.Values.Length];
        int layers = Math.Max(ws.NumWs, 1);
        for (int n = 0; n < ws.Count; n++)
            for (int l = 0; l < layers; l++)
                for (int j = 0; j < WDim; j++) gradient[n * ws.RowLength + l * WDim + j] = Gain / layers * imageGradient[n * WDim + j];
        return Task.FromResult(new Latents(gradient, ws.Count, WDim, ws.NumWs));
    }

    public async IAsyncEnumerable<ProjectionEvent> ProjectAsync(ImageBatch image, ProjectionOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (int step = 1; step <= 2; step++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new ProjectionProgress(step, 2, 1f / step, step * 0.01);
        }
        var w = image.Pixels.Select(x => x / Gain).ToArray();
        var ws = options.WPlus ? new Latents([.. w, .. w], 1, WDim, NumWs) : new Latents(w, 1, WDim);
        yield return new Projection(ws, await SynthesizeAsync(ws, cancellationToken), 0f);
    }
}

/// <summary>
/// A two-class classifier built to depend on one known direction d in W: with the linear generator,
/// its logit is <see cref="Sharpness"/> × (d·w − <see cref="Offset"/>), so class 1 ("towards") grows along d.
/// It offers the image gradient of its class logits, ±Sharpness/2 × d / Gain.
/// </summary>
internal sealed class DirectionClassifier(float[] direction, float sharpness = 3f, float offset = 0f) : IImageGradientClassifier
{
    public float[] Direction => direction;
    public float Sharpness => sharpness;
    public float Offset => offset;
    public int ImagesClassified;

    public ClassifierDescription Description { get; } = new("direction", "1", 1, LinearGenerator.Resolution, LinearGenerator.Resolution, ["away", "towards"]);

    public float Logit(ReadOnlySpan<float> image)
    {
        double dot = 0;
        for (int j = 0; j < image.Length; j++) dot += direction[j] * image[j] / LinearGenerator.Gain;
        return (float)(sharpness * (dot - offset));
    }

    public async Task<Predictions> ClassifyAsync(ImageBatch images, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Add(ref ImagesClassified, images.Count);
        var probabilities = new float[images.Count * 2];
        for (int n = 0; n < images.Count; n++)
        {
            float p = 1 / (1 + MathF.Exp(-Logit(images.Image(n))));
            (probabilities[2 * n], probabilities[2 * n + 1]) = (1 - p, p);
        }
        return new Predictions(probabilities, images.Count, Description.ClassLabels);
    }

    public async Task<(Predictions Predictions, float[] Gradient)> ClassLogitGradientAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken)
    {
        var predictions = await ClassifyAsync(images, cancellationToken);
        // Logits [−l/2, l/2]: softmax of them is [1 − σ(l), σ(l)].
        float sign = targetClass == 1 ? 0.5f : -0.5f;
        var gradient = new float[images.Pixels.Length];
        for (int n = 0; n < images.Count; n++)
            for (int j = 0; j < images.ImageLength; j++) gradient[n * images.ImageLength + j] = sign * sharpness * direction[j] / LinearGenerator.Gain;
        return (predictions, gradient);
    }

    public void Dispose() { }
}

internal static class TestVectors
{
    public static float[] Unit(int seed, int length)
    {
        var rng = new Random(seed);
        var v = Enumerable.Range(0, length).Select(_ => rng.NextDouble() - 0.5).ToArray();
        double norm = Math.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => (float)(x / norm))];
    }

    public static double Cosine(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return ab / Math.Sqrt(aa * bb);
    }
}
