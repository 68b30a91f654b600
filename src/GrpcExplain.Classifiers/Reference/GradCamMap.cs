namespace GrpcExplain.Classifiers.Reference;

/// <summary>
/// Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
/// Localization", 2017) from a feature map A [K, f, f] and the class score's gradient dA: channel weights
/// αₖ = mean over space of dAₖ, map = ReLU(Σₖ αₖ·Aₖ), upsampled bilinearly to the input's R x R
/// (half-pixel centres, as torch.nn.functional.interpolate with align_corners=False and OpenCV's resize),
/// then min-max normalised to [0, 1] as pytorch-grad-cam does; a map without contrast (all equal, e.g.
/// all zero because no location supports the class) is all zeros.
/// </summary>
public static class GradCamMap
{
    public static float[] Compute(ReadOnlySpan<float> a, ReadOnlySpan<float> dA, int channels, int size, int outputSize)
    {
        int plane = size * size;
        if (a.Length != channels * plane || dA.Length != a.Length)
            throw new ArgumentException($"A and dA must both be [{channels}, {size}, {size}]; got {a.Length} and {dA.Length} values.");
        var cam = new double[plane];
        for (int k = 0; k < channels; k++)
        {
            double alpha = 0;
            for (int i = 0; i < plane; i++) alpha += dA[k * plane + i];
            alpha /= plane;
            for (int i = 0; i < plane; i++) cam[i] += alpha * a[k * plane + i];
        }
        for (int i = 0; i < plane; i++) cam[i] = Math.Max(cam[i], 0);
        var up = UpsampleBilinear(cam, size, outputSize);
        double min = up.Min(), max = up.Max();
        var map = new float[up.Length];
        if (max - min > 0)
            for (int i = 0; i < map.Length; i++) map[i] = (float)((up[i] - min) / (max - min));
        return map;
    }

    /// <summary>A square map from <paramref name="size"/> to <paramref name="outputSize"/> pixels a side: source coordinate (o + ½)·size/out − ½, clamped to the edge.</summary>
    public static double[] UpsampleBilinear(ReadOnlySpan<double> map, int size, int outputSize)
    {
        if (size < 1 || outputSize < 1 || map.Length != size * size)
            throw new ArgumentException($"{map.Length} values are not a {size}x{size} map (output {outputSize}x{outputSize}).", nameof(map));
        var (i0, i1, t) = Coordinates(size, outputSize);
        var y = new double[outputSize * outputSize];
        for (int oy = 0; oy < outputSize; oy++)
            for (int ox = 0; ox < outputSize; ox++)
            {
                double top = map[i0[oy] * size + i0[ox]] * (1 - t[ox]) + map[i0[oy] * size + i1[ox]] * t[ox];
                double bottom = map[i1[oy] * size + i0[ox]] * (1 - t[ox]) + map[i1[oy] * size + i1[ox]] * t[ox];
                y[oy * outputSize + ox] = top * (1 - t[oy]) + bottom * t[oy];
            }
        return y;
    }

    /// <summary>For each output index: the two source indices and the weight of the second.</summary>
    private static (int[] I0, int[] I1, double[] T) Coordinates(int size, int outputSize)
    {
        var (i0, i1, t) = (new int[outputSize], new int[outputSize], new double[outputSize]);
        double scale = (double)size / outputSize;
        for (int o = 0; o < outputSize; o++)
        {
            double s = Math.Max((o + 0.5) * scale - 0.5, 0);
            i0[o] = Math.Min((int)s, size - 1);
            i1[o] = Math.Min(i0[o] + 1, size - 1);
            t[o] = s - i0[o];
        }
        return (i0, i1, t);
    }
}
