namespace GrpcExplain.StyleGan.Latents;

/// <summary>Latents drawn from seeds the way NVIDIA's stylegan2-ada-pytorch generate.py draws them.</summary>
public static class SeededLatents
{
    /// <summary>
    /// z [seeds.Count, zDim]: row i is <c>np.random.RandomState(seeds[i]).randn(1, z_dim)</c>, rounded to
    /// float32 as the mapping network's <c>z.to(torch.float32)</c> does.
    /// </summary>
    public static float[] Z(IReadOnlyList<uint> seeds, int zDim)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentOutOfRangeException.ThrowIfNegative(zDim);
        var z = new float[seeds.Count * zDim];
        for (int i = 0; i < seeds.Count; i++)
        {
            var rng = new NumPyRandom(seeds[i]);
            for (int j = 0; j < zDim; j++) z[i * zDim + j] = (float)rng.NextGaussian();
        }
        return z;
    }

    /// <summary>The one-hot class label c [count, cDim] that generate.py builds for <c>--class</c>.</summary>
    public static float[] OneHot(int classIndex, int cDim, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(classIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(classIndex, cDim);
        var c = new float[count * cDim];
        for (int i = 0; i < count; i++) c[i * cDim + classIndex] = 1f;
        return c;
    }
}
