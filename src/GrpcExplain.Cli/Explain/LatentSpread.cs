using GrpcExplain.Explain.Generation;

namespace GrpcExplain.Cli.Explain;

/// <summary>
/// How far a generator's latents spread along a direction, the unit of the default walk: the standard
/// deviation of mapped samples' projections onto it, or, without a direction (a gradient, found only
/// during the explanation), the root-mean-square of their per-dimension standard deviations.
/// </summary>
internal static class LatentSpread
{
    public const int Samples = 2000;

    /// <summary>z [Samples, z_dim] from a fixed seed (and one-hot classes in turn for a conditional generator).</summary>
    public static (float[] Z, float[]? C) SampleZ(int zDim, int cDim)
    {
        var random = new Random(2021);
        var z = new float[Samples * zDim];
        for (int i = 0; i < z.Length; i++) z[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        if (cDim == 0) return (z, null);
        var c = new float[Samples * cDim];
        for (int n = 0; n < Samples; n++) c[n * cDim + n % cDim] = 1;
        return (z, c);
    }

    /// <summary>The default walk's length: <see cref="ExplainSettings.SpreadsWalked"/> spreads along the direction (without one, the mean spread).</summary>
    public static float Reach(Latents ws, float[]? direction) => ExplainSettings.SpreadsWalked * Of(ws, direction);

    public static float Of(Latents ws, float[]? direction)
    {
        ArgumentNullException.ThrowIfNull(ws);
        int count = ws.Count, wDim = ws.WDim;
        var mean = new double[wDim];
        for (int n = 0; n < count; n++)
            for (int j = 0; j < wDim; j++) mean[j] += ws.Values[n * wDim + j] / (double)count;
        double sum = 0;
        for (int n = 0; n < count; n++)
        {
            var w = ws.Row(n);
            if (direction is null)
            {
                for (int j = 0; j < wDim; j++) sum += (w[j] - mean[j]) * (w[j] - mean[j]) / wDim;
                continue;
            }
            double along = 0;
            for (int j = 0; j < wDim; j++) along += (w[j] - mean[j]) * direction[j];
            sum += along * along;
        }
        return (float)Math.Sqrt(sum / count);
    }
}
