namespace GrpcExplain.Kernels;

/// <summary>
/// StyleGAN2's modulated convolution, per sample: W'[n,o,i,k] = W[o,i,k]·s[n,i];
/// d[n,o] = rsqrt(Σ_{i,k} W'² + 1e-8) when demodulating; y[n] = conv(x[n], W'[n]·d[n]) with padding k/2.
/// With <c>Up</c> (3x3 only) the convolution is transposed with stride 2 and no padding (2H+1) and then
/// filtered by upfirdn2d with pad 1 and gain 4, giving exactly 2H x 2W (conv2d_resample's fast path).
/// x [N, I, H, W], W [O, I, k, k] with k 1 or 3, styles [N, I], y [N, O, H or 2H, W or 2W].
/// ToRGB is the 1x1 case without demodulation.
/// </summary>
public sealed record ModulatedConv2dParams(bool Demodulate = true, bool Up = false)
{
    public const float Epsilon = 1e-8f;

    /// <summary>The FIR step after the stride-2 transposed convolution.</summary>
    public static Upfirdn2dParams UpFilter { get; } = new(PadX0: 1, PadX1: 1, PadY0: 1, PadY1: 1, Gain: 4);

    /// <summary>
    /// The convolution's multiply-adds (twice backward: data and weight gradients) and, for Up, the 4x4
    /// FIR on the output; the O(N·O·I) modulation terms are left out. Backward reads x, W, styles, y
    /// (for demodulation's gradient) and dy, and writes dx, dW and dStyles.
    /// </summary>
    public (KernelCost Forward, KernelCost Backward) Cost(Shape x, Shape weight)
    {
        var y = OutputShape(x, weight);
        long convMacs = (long)x.Length * weight[0] * weight[2] * weight[3]; // every input pixel meets every tap once
        long firMacs = Up ? 16L * y.Length : 0;
        long bytes = (long)x.Length + weight.Length + x[0] * x[1] + y.Length;
        return (new(2 * (convMacs + firMacs), 4 * bytes), new(2 * (2 * convMacs + firMacs), 8 * bytes));
    }

    public Shape OutputShape(Shape x, Shape weight)
    {
        var (n, _, h, w) = x.Nchw;
        return Up ? new Shape(n, weight[0], 2 * h, 2 * w) : new Shape(n, weight[0], h, w);
    }

    internal void Validate(Backend b, Tensor x, Tensor weight, Tensor styles, Tensor y, Tensor? dy = null)
    {
        const string op = "ModulatedConv2d";
        foreach (var (n, t) in new[] { ("x", x), ("weight", weight), ("styles", styles), ("y", y), ("dy", dy) }) Check.Owned(b, op, n, t);
        Check.Rank(op, "x", x, 4, "N, I, H, W");
        Check.Rank(op, "weight", weight, 4, "O, I, k, k");
        var (n_, i, _, _) = x.Shape.Nchw;
        var (_, wi, kh, kw) = weight.Shape.Nchw;
        Check.That(kh == kw && (kh == 1 || kh == 3), op, "weight", $"kernels must be 1x1 or 3x3, got {kh}x{kw}.");
        Check.That(!Up || kh == 3, op, "weight", "the 2x upsampling variant needs a 3x3 kernel.");
        Check.That(wi == i, op, "weight", $"weight has {wi} input channels but x has {i}.");
        Check.Shape(op, "styles", styles, new Shape(n_, i), "N, in_channels");
        var expected = OutputShape(x.Shape, weight.Shape);
        Check.Shape(op, "y", y, expected, "N, O, Hout, Wout");
        Check.Shape(op, "dy", dy, expected, "N, O, Hout, Wout");
        Check.NoAlias(op, [("y", y)], ("x", x));
    }
}

public static partial class Reference
{
    /// <summary>Per-sample weights W'·d exactly as the grouped-convolution formulation builds them.</summary>
    private static double[] ModulatedWeights(double[] w, Shape wShape, double[] s, int n, bool demodulate)
    {
        var (co, ci, k, _) = wShape.Nchw;
        int kk = k * k;
        var wm = new double[co * ci * kk];
        for (int o = 0; o < co; o++)
        {
            double sq = 0;
            for (int i = 0; i < ci; i++)
                for (int t = 0; t < kk; t++)
                {
                    double v = w[(o * ci + i) * kk + t] * s[n * ci + i];
                    wm[(o * ci + i) * kk + t] = v;
                    sq += v * v;
                }
            if (!demodulate) continue;
            double d = 1 / Math.Sqrt(sq + ModulatedConv2dParams.Epsilon);
            for (int j = o * ci * kk; j < (o + 1) * ci * kk; j++) wm[j] *= d;
        }
        return wm;
    }

    public static double[] ModulatedConv2dForward(double[] x, Shape xShape, double[] w, Shape wShape, double[] s, ModulatedConv2dParams p)
    {
        var (n, ci, h, wd) = xShape.Nchw;
        var (co, _, k, _) = wShape.Nchw;
        var y = new double[p.OutputShape(xShape, wShape).Length];
        int ysz = y.Length / n;
        for (int b = 0; b < n; b++)
        {
            var wm = ModulatedWeights(w, wShape, s, b, p.Demodulate);
            var xb = x.AsSpan(b * ci * h * wd, ci * h * wd).ToArray();
            var one = new Shape(1, ci, h, wd);
            var yb = p.Up
                ? Upfirdn2dForward(ConvTranspose2x(xb, one, wm, wShape), new Shape(1, co, 2 * h + 1, 2 * wd + 1), ModulatedConv2dParams.UpFilter)
                : Conv2dForward(xb, one, wm, wShape, new Conv2dParams(Padding: k / 2));
            yb.CopyTo(y, b * ysz);
        }
        return y;
    }

    public static (double[] Dx, double[] DWeight, double[] DStyles) ModulatedConv2dBackward(
        double[] x, Shape xShape, double[] w, Shape wShape, double[] s, double[] dy, ModulatedConv2dParams p)
    {
        var (n, ci, h, wd) = xShape.Nchw;
        var (co, _, k, _) = wShape.Nchw;
        int kk = k * k, ysz = dy.Length / n;
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var ds = new double[s.Length];
        for (int b = 0; b < n; b++)
        {
            var wm = ModulatedWeights(w, wShape, s, b, p.Demodulate);
            var xb = x.AsSpan(b * ci * h * wd, ci * h * wd).ToArray();
            var dyb = dy.AsSpan(b * ysz, ysz).ToArray();
            var one = new Shape(1, ci, h, wd);
            double[] dxb, dwm;
            if (p.Up)
            {
                var dt = Upfirdn2dBackward(dyb, new Shape(1, co, 2 * h + 1, 2 * wd + 1), ModulatedConv2dParams.UpFilter);
                (dxb, dwm) = ConvTranspose2xBackward(xb, one, wm, wShape, dt);
            }
            else
            {
                (dxb, dwm) = Conv2dBackward(xb, one, wm, wShape, dyb, new Conv2dParams(Padding: k / 2));
            }
            dxb.CopyTo(dx, b * ci * h * wd);
            // Chain rule through demodulation (Wf = W'·d(W')) and modulation (W' = W·s).
            for (int o = 0; o < co; o++)
            {
                double d = 1, dot = 0;
                if (p.Demodulate)
                {
                    double sq = 0;
                    for (int j = o * ci * kk; j < (o + 1) * ci * kk; j++)
                    {
                        double wprime = w[j] * s[b * ci + j / kk % ci];
                        sq += wprime * wprime;
                    }
                    d = 1 / Math.Sqrt(sq + ModulatedConv2dParams.Epsilon);
                    for (int j = o * ci * kk; j < (o + 1) * ci * kk; j++) dot += dwm[j] * w[j] * s[b * ci + j / kk % ci];
                }
                for (int i = 0; i < ci; i++)
                    for (int t = 0; t < kk; t++)
                    {
                        int j = (o * ci + i) * kk + t;
                        double wprime = w[j] * s[b * ci + i];
                        double gPrime = dwm[j] * d - (p.Demodulate ? dot * d * d * d * wprime : 0);
                        dw[j] += gPrime * s[b * ci + i];
                        ds[b * ci + i] += gPrime * w[j];
                    }
            }
        }
        return (dx, dw, ds);
    }

    /// <summary>conv_transpose2d with stride 2 and no padding: t[o, 2iy+ky, 2ix+kx] += x[i, iy, ix]·W[o, i, ky, kx].</summary>
    private static double[] ConvTranspose2x(double[] x, Shape xShape, double[] w, Shape wShape)
    {
        var (_, ci, h, wd) = xShape.Nchw;
        var (co, _, k, _) = wShape.Nchw;
        int th = 2 * h + 1, tw = 2 * wd + 1;
        var t = new double[co * th * tw];
        for (int o = 0; o < co; o++)
            for (int i = 0; i < ci; i++)
                for (int iy = 0; iy < h; iy++)
                    for (int ix = 0; ix < wd; ix++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                                t[(o * th + 2 * iy + ky) * tw + 2 * ix + kx] += x[(i * h + iy) * wd + ix] * w[((o * ci + i) * k + ky) * k + kx];
        return t;
    }

    private static (double[] Dx, double[] DWeight) ConvTranspose2xBackward(double[] x, Shape xShape, double[] w, Shape wShape, double[] dt)
    {
        var (_, ci, h, wd) = xShape.Nchw;
        var (co, _, k, _) = wShape.Nchw;
        int th = 2 * h + 1, tw = 2 * wd + 1;
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        for (int o = 0; o < co; o++)
            for (int i = 0; i < ci; i++)
                for (int iy = 0; iy < h; iy++)
                    for (int ix = 0; ix < wd; ix++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                            {
                                double g = dt[(o * th + 2 * iy + ky) * tw + 2 * ix + kx];
                                int xi = (i * h + iy) * wd + ix, wi = ((o * ci + i) * k + ky) * k + kx;
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
        return (dx, dw);
    }
}
