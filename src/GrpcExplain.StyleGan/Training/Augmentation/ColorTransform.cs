namespace GrpcExplain.StyleGan.Training.Augmentation;

/// <summary>
/// ADA's colour transforms on one sample (after the geometry), in its order: brightness x + b;
/// contrast c·(x − m) + m around the sample's mean m over all channels and pixels; saturation
/// l + s·(x − l) per pixel, l the projection on the luma axis (1,1,1)/√3, i.e. the mean of R, G, B
/// (grey images have no colour to scale: skipped, as ADA's matrix reduces to the identity there).
///
/// Why around the mean, where augment.py scales around 0 (mid-grey of [-1, 1]): the brief asks for it,
/// and it leaves the image's mean where brightness put it, so the two stay separate knobs on images
/// far from mid-grey (dark X-ray backgrounds). Each step is affine in x for a fixed draw, so the
/// vector-Jacobian product is exact: brightness passes the gradient through; contrast's Jacobian
/// c·I + (1 − c)/K·11ᵀ and saturation's vvᵀ + s(I − vvᵀ) are symmetric, so their transposes are the
/// same formulas applied to the gradient, in reverse order.
/// </summary>
internal static class ColorTransform
{
    public static void Forward(Span<float> x, int channels, in SampleDraw d)
    {
        if (d.Brightness != 0f)
            for (int i = 0; i < x.Length; i++) x[i] += d.Brightness;
        if (d.Contrast != 1f) ScaleAroundMean(x, d.Contrast);
        if (d.Saturation != 1f && channels == 3) ScaleAwayFromLuma(x, d.Saturation);
    }

    /// <summary>The VJP in place: g (the gradient of the output) becomes the gradient of the input.</summary>
    public static void Backward(Span<float> g, int channels, in SampleDraw d)
    {
        if (d.Saturation != 1f && channels == 3) ScaleAwayFromLuma(g, d.Saturation);
        if (d.Contrast != 1f) ScaleAroundMean(g, d.Contrast);
    }

    /// <summary>x ← c·x + (1 − c)·mean(x): contrast forward, and its own transpose.</summary>
    private static void ScaleAroundMean(Span<float> x, float c)
    {
        double sum = 0;
        foreach (var v in x) sum += v;
        float shift = (float)((1.0 - c) * sum / x.Length);
        for (int i = 0; i < x.Length; i++) x[i] = c * x[i] + shift;
    }

    /// <summary>Per pixel of an RGB sample, x ← l + s·(x − l), l = (r + g + b)/3: saturation, and its own transpose.</summary>
    private static void ScaleAwayFromLuma(Span<float> x, float s)
    {
        int plane = x.Length / 3;
        var r = x[..plane];
        var g = x.Slice(plane, plane);
        var b = x.Slice(2 * plane, plane);
        for (int i = 0; i < plane; i++)
        {
            float l = (r[i] + g[i] + b[i]) * (1f / 3f);
            r[i] = l + s * (r[i] - l);
            g[i] = l + s * (g[i] - l);
            b[i] = l + s * (b[i] - l);
        }
    }
}
