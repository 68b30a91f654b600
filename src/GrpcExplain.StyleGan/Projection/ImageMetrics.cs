namespace GrpcExplain.StyleGan.Projection;

/// <summary>One image's layout for the metrics: [channels, height, width], C order.</summary>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    public int Length => Channels * Height * Width;

    public override string ToString() => $"[{Channels}, {Height}, {Width}]";
}

/// <summary>
/// SSIM's constants (Wang et al. 2004): a Gaussian window of <see cref="WindowSize"/> taps and
/// <see cref="Sigma"/>, C1 = (K1·L)², C2 = (K2·L)² for the data range L. The defaults are the
/// paper's, with L = 2 for our [-1, 1] images (the same values as L = 255 on 8-bit images).
/// </summary>
public sealed record SsimOptions(int WindowSize = 11, double Sigma = 1.5, double K1 = 0.01, double K2 = 0.03, double DataRange = 2)
{
    public static SsimOptions Default { get; } = new();

    /// <summary>MS-SSIM's exponents for scales 1 to 5, finest first (Wang, Simoncelli and Bovik 2003).</summary>
    public static IReadOnlyList<double> MsSsimWeights { get; } = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

    /// <summary>
    /// The window for an image whose smaller side is <paramref name="side"/>: this one when it fits;
    /// otherwise the largest odd size that does, its sigma scaled by the same factor, so that SSIM
    /// is defined for the smallest generators too (8x8 images: 7 taps, sigma 0.95).
    /// </summary>
    public SsimOptions FittedTo(int side)
    {
        if (side < 1) throw new ArgumentOutOfRangeException(nameof(side), $"An image side must be at least 1 pixel, got {side}.");
        if (side >= WindowSize) return this;
        int size = side % 2 == 1 ? side : side - 1;
        return this with { WindowSize = size, Sigma = Sigma * size / WindowSize };
    }

    /// <summary>
    /// The scales MS-SSIM can use on an image whose smaller side is <paramref name="side"/>: up to
    /// five, as many as keep the coarsest level at least one window wide (each level halves the side,
    /// rounding up); at least one. 161 pixels and more give all five, as in Wang et al.
    /// </summary>
    public int MsSsimScales(int side)
    {
        var window = FittedTo(side).WindowSize;
        int scales = 1;
        for (int s = (side + 1) / 2; scales < MsSsimWeights.Count && s >= window; s = (s + 1) / 2) scales++;
        return scales;
    }

    internal string? Problem()
    {
        if (WindowSize < 1 || WindowSize % 2 == 0) return $"The SSIM window must be an odd number of pixels, got {WindowSize}.";
        if (!(Sigma > 0) || !double.IsFinite(Sigma)) return $"The SSIM window's sigma must be positive, got {Sigma}.";
        if (!(K1 > 0) || !(K2 > 0) || !double.IsFinite(K1) || !double.IsFinite(K2)) return $"K1 and K2 must be positive, got {K1} and {K2}.";
        if (!(DataRange > 0) || !double.IsFinite(DataRange)) return $"The data range must be positive, got {DataRange}.";
        return null;
    }
}

/// <summary>
/// Reconstruction quality of an image x against a reference y: MSE, PSNR, SSIM and multi-scale
/// SSIM, and the gradients of SSIM and MS-SSIM with respect to x, so that projection can minimise
/// them. SSIM is computed as pytorch_msssim (and skimage with gaussian_weights and population
/// statistics) compute it: the Gaussian-weighted local statistics over the positions where the whole
/// window lies inside the image, averaged over those positions and over channels. MS-SSIM: at each
/// scale after the first the images are 2x2 average-pooled (padding an odd side by one zero, divided
/// by 4, as torch's avg_pool2d does); the contrast-structure means of the finer scales and the SSIM
/// of the coarsest, each clipped at 0, are raised to <see cref="SsimOptions.MsSsimWeights"/>
/// (renormalised to sum to 1 when an image is too small for all five scales) and multiplied, per
/// channel; the channels are averaged. Arithmetic in double precision.
/// </summary>
public static class ImageMetrics
{
    public static double MeanSquaredError(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        CheckPair(x, y);
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = (double)x[i] - y[i];
            sum += d * d;
        }
        return sum / x.Length;
    }

    /// <summary>10·log10(L² / MSE) in dB, for the data range L (2 for [-1, 1]); +∞ for identical images.</summary>
    public static double Psnr(ReadOnlySpan<float> x, ReadOnlySpan<float> y, double dataRange = 2)
    {
        if (!(dataRange > 0)) throw new ArgumentOutOfRangeException(nameof(dataRange), $"The data range must be positive, got {dataRange}.");
        double mse = MeanSquaredError(x, y);
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(dataRange * dataRange / mse);
    }

    /// <summary>Mean SSIM of x against y; the window is fitted to images smaller than it (<see cref="SsimOptions.FittedTo"/>).</summary>
    public static double Ssim(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, SsimOptions? options = null) =>
        Ssim(x, y, shape, [], options);

    /// <summary>Mean SSIM, and dSSIM/dx written to <paramref name="gradient"/> (x's length; empty for none).</summary>
    public static double Ssim(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, Span<float> gradient, SsimOptions? options = null)
    {
        var o = Check(x, y, shape, gradient, options);
        var level = SsimLevel.Compute(Planes(x, shape), Planes(y, shape), shape.Height, shape.Width, o);
        if (gradient.Length > 0)
        {
            var g = Enumerable.Repeat(1.0 / shape.Channels, shape.Channels).ToArray();
            Store(level.Backward(g, new double[shape.Channels]), gradient);
        }
        return level.Ssim.Average();
    }

    /// <summary>MS-SSIM of x against y over <paramref name="scales"/> scales (by default as many as the image allows, <see cref="SsimOptions.MsSsimScales"/>).</summary>
    public static double MsSsim(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, SsimOptions? options = null, int? scales = null) =>
        MsSsim(x, y, shape, [], options, scales);

    /// <summary>MS-SSIM, and dMS-SSIM/dx written to <paramref name="gradient"/> (x's length; empty for none). Where a clipped term is 0 the gradient is 0.</summary>
    public static double MsSsim(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, Span<float> gradient, SsimOptions? options = null, int? scales = null)
    {
        var o = Check(x, y, shape, gradient, options);
        int side = Math.Min(shape.Height, shape.Width), most = (options ?? SsimOptions.Default).MsSsimScales(side);
        int k = scales ?? most;
        if (k < 1 || k > most)
            throw new ArgumentOutOfRangeException(nameof(scales), $"{shape} images allow 1 to {most} MS-SSIM scales with a {o.WindowSize}-pixel window, not {k}.");
        var weights = SsimOptions.MsSsimWeights.Take(k).ToArray();
        double total = weights.Sum();
        for (int i = 0; i < k; i++) weights[i] /= total;

        // Forward: every scale's statistics, kept for the backward.
        var levels = new SsimLevel[k];
        double[][] xs = Planes(x, shape), ys = Planes(y, shape);
        int h = shape.Height, w = shape.Width;
        for (int i = 0; i < k; i++)
        {
            levels[i] = SsimLevel.Compute(xs, ys, h, w, o);
            if (i == k - 1) break;
            (xs, ys) = ([.. xs.Select(p => SsimLevel.AvgPool2x2(p, h, w))], [.. ys.Select(p => SsimLevel.AvgPool2x2(p, h, w))]);
            (h, w) = ((h + 1) / 2, (w + 1) / 2);
        }
        int channels = shape.Channels;
        // v[i][c]: the clipped term of scale i (cs for the finer scales, SSIM for the coarsest).
        var v = new double[k][];
        for (int i = 0; i < k; i++) v[i] = [.. (i < k - 1 ? levels[i].Cs : levels[i].Ssim).Select(t => Math.Max(t, 0))];
        var perChannel = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double p = 1;
            for (int i = 0; i < k; i++) p *= Math.Pow(v[i][c], weights[i]);
            perChannel[c] = p;
        }
        if (gradient.Length > 0)
        {
            // d(mean_c Π_i v_ic^w_i)/dv_ic = w_i·ms_c / (C·v_ic), zero where v_ic was clipped; the
            // coarsest scale's gradient flows back to the finest through each pooling's adjoint.
            double[][]? dx = null;
            for (int i = k - 1; i >= 0; i--)
            {
                var dv = new double[channels];
                for (int c = 0; c < channels; c++) dv[c] = v[i][c] > 0 ? weights[i] * perChannel[c] / (channels * v[i][c]) : 0;
                var dLevel = i == k - 1 ? levels[i].Backward(dv, new double[channels]) : levels[i].Backward(new double[channels], dv);
                if (dx is not null)
                    for (int c = 0; c < channels; c++) SsimLevel.AvgPool2x2Backward(dx[c], levels[i].Height, levels[i].Width, dLevel[c]);
                dx = dLevel;
            }
            Store(dx!, gradient);
        }
        return perChannel.Average();
    }

    private static SsimOptions Check(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, Span<float> gradient, SsimOptions? options)
    {
        CheckPair(x, y);
        if (shape.Channels < 1 || shape.Height < 1 || shape.Width < 1) throw new ArgumentException($"An image shape needs positive dimensions, got {shape}.", nameof(shape));
        if (x.Length != shape.Length) throw new ArgumentException($"The images hold {x.Length} values; shape {shape} needs {shape.Length}.", nameof(shape));
        if (gradient.Length != 0 && gradient.Length != x.Length)
            throw new ArgumentException($"The gradient holds {gradient.Length} values; the image {x.Length}.", nameof(gradient));
        var o = options ?? SsimOptions.Default;
        if (o.Problem() is { } problem) throw new ArgumentException(problem, nameof(options));
        return o.FittedTo(Math.Min(shape.Height, shape.Width));
    }

    private static void CheckPair(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"The images differ in size: {x.Length} and {y.Length} values.", nameof(y));
        if (x.Length == 0) throw new ArgumentException("The images are empty.", nameof(x));
    }

    private static double[][] Planes(ReadOnlySpan<float> image, ImageShape shape)
    {
        int plane = shape.Height * shape.Width;
        var planes = new double[shape.Channels][];
        for (int c = 0; c < shape.Channels; c++)
        {
            planes[c] = new double[plane];
            for (int i = 0; i < plane; i++) planes[c][i] = image[c * plane + i];
        }
        return planes;
    }

    private static void Store(double[][] planes, Span<float> gradient)
    {
        int plane = planes[0].Length;
        for (int c = 0; c < planes.Length; c++)
            for (int i = 0; i < plane; i++) gradient[c * plane + i] = (float)planes[c][i];
    }
}
