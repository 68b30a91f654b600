using GrpcExplain.StyleGan.Latents;

namespace GrpcExplain.StyleGan.Projection;

/// <summary>
/// Where projection starts and how far it explores: the mean of mapped samples (the start) and their
/// spread, √(Σ‖w − mean‖² / N), which scales the noise added to w early in the optimisation.
/// </summary>
public sealed record WStatistics(float[] Mean, float Std, int Samples)
{
    /// <summary>
    /// NVIDIA's projector.py: z from <c>np.random.RandomState(seed).randn(samples, z_dim)</c>, mapped
    /// without truncation; a conditional generator's samples take the classes in turn (one-hot), so the
    /// mean is over every class.
    /// </summary>
    public static WStatistics Sample(Generator generator, int samples = 10_000, uint seed = 123, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), $"Sample at least one latent, got {samples}.");
        var config = generator.Config;
        int zDim = config.ZDim, wDim = config.WDim, numWs = config.NumWs, cDim = config.CDim;
        var random = new NumPyRandom(seed);
        var w = new float[(long)samples * wDim];
        const int Batch = 500;
        for (int start = 0; start < samples; start += Batch)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = Math.Min(Batch, samples - start);
            var z = Array.ConvertAll(random.Randn(n * zDim), v => (float)v);
            float[]? c = null;
            if (cDim > 0)
            {
                c = new float[n * cDim];
                for (int i = 0; i < n; i++) c[i * cDim + (start + i) % cDim] = 1;
            }
            var ws = generator.Map(z, n, c);
            for (int i = 0; i < n; i++) Array.Copy(ws, i * numWs * wDim, w, (long)(start + i) * wDim, wDim);
        }
        var mean = new double[wDim];
        for (int i = 0; i < samples; i++)
            for (int j = 0; j < wDim; j++) mean[j] += w[(long)i * wDim + j];
        for (int j = 0; j < wDim; j++) mean[j] /= samples;
        double squares = 0;
        for (int i = 0; i < samples; i++)
            for (int j = 0; j < wDim; j++)
            {
                double d = w[(long)i * wDim + j] - mean[j];
                squares += d * d;
            }
        return new WStatistics(Array.ConvertAll(mean, v => (float)v), (float)Math.Sqrt(squares / samples), samples);
    }

    /// <summary>The average w the weights store (tracked during training); no spread, so no exploration noise.</summary>
    public static WStatistics Stored(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return new WStatistics([.. generator.Weights["mapping.w_avg"].Data], 0, 0);
    }
}
