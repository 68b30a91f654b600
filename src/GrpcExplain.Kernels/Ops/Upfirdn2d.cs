namespace GrpcExplain.Kernels;

/// <summary>A 2-D FIR filter, row-major [Height, Width], applied as a true convolution (flipped), as upfirdn2d does.</summary>
public sealed class FirFilter
{
    public FirFilter(float[] taps, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(taps);
        if (height <= 0 || width <= 0 || taps.Length != height * width)
            throw new ArgumentException($"A {height}x{width} filter needs {height * width} taps, got {taps.Length}.", nameof(taps));
        Taps = (float[])taps.Clone();
        Height = height;
        Width = width;
    }

    public float[] Taps { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>The 1-D factors (vertical, horizontal) when the filter is their outer product, else null.</summary>
    public (float[] Y, float[] X)? Factors { get; internal init; }

    /// <summary>Outer product of a 1-D kernel with itself, normalised to sum 1 (setup_filter).</summary>
    public static FirFilter Separable(params float[] kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        int k = kernel.Length;
        double sum = 0;
        foreach (var v in kernel) sum += v;
        var factor = kernel.Select(v => (float)(v / sum)).ToArray();
        var taps = new float[k * k];
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) taps[i * k + j] = factor[i] * factor[j];
        return new FirFilter(taps, k, k) { Factors = (factor, factor) };
    }

    /// <summary>StyleGAN2's resampling filter: [1, 3, 3, 1] ⊗ [1, 3, 3, 1] / 64.</summary>
    public static FirFilter Binomial4 { get; } = Separable(1, 3, 3, 1);
}

/// <summary>
/// upfirdn2d: upsample by zero insertion, pad (negative pads crop), convolve with a FIR filter times
/// gain, keep every <c>Down</c>-th pixel. Shapes [N, C, H, W] → [N, C, Hout, Wout] with
/// Hout = (H·up + padY0 + padY1 − fh) / down + 1.
/// </summary>
public sealed record Upfirdn2dParams(int Up = 1, int Down = 1, int PadX0 = 0, int PadX1 = 0, int PadY0 = 0, int PadY1 = 0, float Gain = 1f)
{
    public FirFilter Filter { get; init; } = FirFilter.Binomial4;

    /// <summary>StyleGAN2's upsample2d: up 2, pad (2, 1), gain 4 for the 4-tap filter, giving exactly 2H x 2W.</summary>
    public static Upfirdn2dParams Upsample2x { get; } = new(Up: 2, PadX0: 2, PadX1: 1, PadY0: 2, PadY1: 1, Gain: 4);

    /// <summary>StyleGAN2's downsample2d: pad (1, 1), down 2, giving exactly H/2 x W/2 for even sizes.</summary>
    public static Upfirdn2dParams Downsample2x { get; } = new(Down: 2, PadX0: 1, PadX1: 1, PadY0: 1, PadY1: 1);

    public int OutHeight(int h) => (h * Up + PadY0 + PadY1 - Filter.Height) / Down + 1;
    public int OutWidth(int w) => (w * Up + PadX0 + PadX1 - Filter.Width) / Down + 1;

    /// <summary>Only the taps that meet an input pixel count: taps / up² per output pixel.</summary>
    public (KernelCost Forward, KernelCost Backward) Cost(Shape x)
    {
        long y = OutputShape(x).Length;
        var cost = new KernelCost(2 * y * Filter.Taps.Length / (Up * Up), 4 * (x.Length + y));
        return (cost, cost);
    }

    public Shape OutputShape(Shape x)
    {
        var (n, c, h, w) = x.Nchw;
        return new Shape(n, c, OutHeight(h), OutWidth(w));
    }

    /// <summary>
    /// The adjoint is an upfirdn2d with up and down swapped, the filter flipped and these pads
    /// (as stylegan2-ada-pytorch's Upfirdn2dCuda backward).
    /// </summary>
    public Upfirdn2dParams Adjoint(int inHeight, int inWidth)
    {
        int outH = OutHeight(inHeight), outW = OutWidth(inWidth);
        int fh = Filter.Height, fw = Filter.Width;
        return new Upfirdn2dParams(
            Up: Down, Down: Up,
            PadX0: fw - PadX0 - 1, PadX1: inWidth * Up - outW * Down + PadX0 - Up + 1,
            PadY0: fh - PadY0 - 1, PadY1: inHeight * Up - outH * Down + PadY0 - Up + 1,
            Gain: Gain)
        { Filter = Flipped(Filter) };
    }

    private static FirFilter Flipped(FirFilter f)
    {
        var t = new float[f.Taps.Length];
        for (int i = 0; i < t.Length; i++) t[i] = f.Taps[t.Length - 1 - i];
        return new FirFilter(t, f.Height, f.Width) { Factors = f.Factors is { } fac ? (fac.Y.Reverse().ToArray(), fac.X.Reverse().ToArray()) : null };
    }

    internal void Validate(Backend b, Tensor x, Tensor y, string xName = "x", string yName = "y")
    {
        const string op = "Upfirdn2d";
        Check.Owned(b, op, xName, x);
        Check.Owned(b, op, yName, y);
        Check.That(Up >= 1 && Down >= 1, op, "p", $"up and down must be at least 1, got up {Up}, down {Down}.");
        Check.Rank(op, xName, x, 4, "N, C, H, W");
        var (_, _, h, w) = x.Shape.Nchw;
        Check.That(h * Up + PadY0 + PadY1 >= Filter.Height && w * Up + PadX0 + PadX1 >= Filter.Width, op, xName,
            $"a {h}x{w} {xName}, upsampled by {Up} and padded, is smaller than the {Filter.Height}x{Filter.Width} filter: no output pixels.");
        Check.Shape(op, yName, y, OutputShape(x.Shape), "N, C, Hout, Wout");
        Check.NoAlias(op, [(yName, y)], (xName, x));
    }
}

public static partial class Reference
{
    public static double[] Upfirdn2dForward(double[] x, Shape xShape, Upfirdn2dParams p)
    {
        var (n, c, h, w) = xShape.Nchw;
        int oh = p.OutHeight(h), ow = p.OutWidth(w);
        var y = new double[n * c * oh * ow];
        for (int plane = 0; plane < n * c; plane++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    double acc = 0;
                    foreach (var (src, tap) in Taps(p, h, w, oy, ox)) acc += x[plane * h * w + src] * tap;
                    y[(plane * oh + oy) * ow + ox] = acc;
                }
        return y;
    }

    public static double[] Upfirdn2dBackward(double[] dy, Shape xShape, Upfirdn2dParams p)
    {
        var (n, c, h, w) = xShape.Nchw;
        int oh = p.OutHeight(h), ow = p.OutWidth(w);
        var dx = new double[xShape.Length];
        for (int plane = 0; plane < n * c; plane++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    foreach (var (src, tap) in Taps(p, h, w, oy, ox)) dx[plane * h * w + src] += dy[(plane * oh + oy) * ow + ox] * tap;
        return dx;
    }

    /// <summary>The input pixels (index within a plane) and weights that output pixel (oy, ox) sums.</summary>
    private static IEnumerable<(int Src, double Tap)> Taps(Upfirdn2dParams p, int h, int w, int oy, int ox)
    {
        var f = p.Filter;
        for (int ty = 0; ty < f.Height; ty++)
            for (int tx = 0; tx < f.Width; tx++)
            {
                // Position in the zero-inserted, unpadded image; only multiples of up hold input pixels.
                int uy = oy * p.Down + ty - p.PadY0, ux = ox * p.Down + tx - p.PadX0;
                if (uy < 0 || ux < 0 || uy >= h * p.Up || ux >= w * p.Up || uy % p.Up != 0 || ux % p.Up != 0) continue;
                double tap = f.Taps[(f.Height - 1 - ty) * f.Width + (f.Width - 1 - tx)] * (double)p.Gain;
                yield return ((uy / p.Up) * w + ux / p.Up, tap);
            }
    }
}
