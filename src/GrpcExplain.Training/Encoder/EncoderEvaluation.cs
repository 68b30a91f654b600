using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Projection;
using GrpcExplain.Training.Data;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Encoder;

using StyleGanEncoder = GrpcExplain.StyleGan.Encoding.Encoder;

/// <summary>Mean reconstruction quality of a set of images: PSNR (dB) and SSIM of G(start w) against the image.</summary>
public sealed record ReconstructionQuality(int Images, double PsnrDb, double Ssim);

/// <summary>
/// How well an encoder inverts: on held-out generated samples (always the same ones, drawn from
/// <see cref="Seed"/>), the normalised w error and G(E(G(w))) against G(w); on real images, G(E(x))
/// against x. Each beside the mean-w start it replaces, G(w_avg), for scale.
/// </summary>
public sealed record EncoderEvaluation(double WMeanSquaredError, ReconstructionQuality Generated, ReconstructionQuality GeneratedFromWAvg,
    ReconstructionQuality? Real, ReconstructionQuality? RealFromWAvg)
{
    /// <summary>The held-out samples' seed: another stream than any training seed's first draws, and the same for every encoder.</summary>
    public const int Seed = 987_654_321;

    public static EncoderEvaluation Measure(Generator generator, StyleGanEncoder encoder, int samples, IReadOnlyList<float[]>? realImages = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(encoder);
        var random = new Random(Seed);
        var images = new List<float[]>();
        double wError = 0;
        for (int done = 0; done < samples; done += 16)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = Math.Min(16, samples - done);
            var (w, batch) = EncoderTrainer.Draw(generator, random, n);
            using (var pass = encoder.Record(batch, n))
                wError += EncoderTrainer.Regression(pass.Outputs, encoder.ToOutputs(w, n), out _) * n;
            int length = batch.Length / n;
            for (int i = 0; i < n; i++) images.Add(batch.AsSpan(i * length, length).ToArray());
        }
        var wAvg = encoder.ToWeights().Tensors["w_avg"].Data;
        bool hasReal = realImages is { Count: > 0 };
        return new EncoderEvaluation(wError / samples, Quality(generator, encoder, images, null, cancellation), Quality(generator, encoder, images, wAvg, cancellation),
            hasReal ? Quality(generator, encoder, realImages!, null, cancellation) : null, hasReal ? Quality(generator, encoder, realImages!, wAvg, cancellation) : null);
    }

    /// <summary>
    /// <paramref name="count"/> real images spread evenly over the validation split of <paramref name="data"/>
    /// (the train split when there is none), fitted to the generator's geometry as its training data was:
    /// [C, R, R] in [-1, 1] each.
    /// </summary>
    public static IReadOnlyList<float[]> RealImages(string data, int channels, int resolution, CropMode fit, int count)
    {
        var dataset = GanData.ValidationSplits.Select(s => GanData.OpenSplit(data, s, optional: true)).FirstOrDefault(d => d is not null)
            ?? GanData.OpenSplit(data, GanData.TrainSplit)!;
        var options = new PreprocessOptions(resolution, channels, fit);
        var images = new List<float[]>();
        for (int k = 0; k < Math.Min(count, dataset.Count); k++)
        {
            using var image = dataset.LoadImage((int)((long)k * dataset.Count / Math.Min(count, dataset.Count)));
            var values = new float[options.ImageBytes];
            Preprocess.ToFloat(Preprocess.ToPlanes(image, options), values);
            images.Add(values);
        }
        return images;
    }

    /// <summary>G(E(x)) against x (or G(<paramref name="fixedW"/>) against x), clamped to [-1, 1] as it is shown.</summary>
    private static ReconstructionQuality Quality(Generator generator, StyleGanEncoder encoder, IReadOnlyList<float[]> images, float[]? fixedW, CancellationToken cancellation)
    {
        var c = generator.Config;
        var shape = new ImageShape(c.ImgChannels, c.ImgResolution, c.ImgResolution);
        double psnr = 0, ssim = 0;
        foreach (var x in images)
        {
            cancellation.ThrowIfCancellationRequested();
            var w = fixedW ?? encoder.Encode(x, 1);
            var y = Array.ConvertAll(generator.Synthesize(w, 1), v => Math.Clamp(v, -1f, 1f));
            psnr += Math.Min(ImageMetrics.Psnr(y, x), 100);
            ssim += ImageMetrics.Ssim(y, x, shape);
        }
        return new ReconstructionQuality(images.Count, psnr / images.Count, ssim / images.Count);
    }
}
