namespace GrpcExplain.Kernels;

/// <summary>
/// Plain (unmodulated) convolution, cross-correlation as torch.nn.functional.conv2d, with the
/// equalized-learning-rate weight gain folded in: y = conv(x, W·gain, stride, padding).
/// x [N, I, H, W], W [O, I, k, k], y [N, O, (H + 2p − k)/s + 1, (W + 2p − k)/s + 1]. Bias and
/// activation follow through <see cref="BiasActivateParams"/>.
/// </summary>
public sealed record Conv2dParams(int Stride = 1, int Padding = 0, float WeightGain = 1f)
{
    /// <summary>Equalized learning rate for a layer with this weight: 1/√(I·k·k).</summary>
    public static float EqualizedGain(int inChannels, int kernel) => 1f / MathF.Sqrt(inChannels * kernel * kernel);

    public int OutSize(int size, int kernel) => (size + 2 * Padding - kernel) / Stride + 1;

    /// <summary>Backward reads x, W and dy, and writes dx and dW.</summary>
    public (KernelCost Forward, KernelCost Backward) Cost(Shape x, Shape weight)
    {
        long y = (long)x[0] * weight[0] * OutSize(x[2], weight[2]) * OutSize(x[3], weight[3]);
        long macs = (long)x[1] * weight[2] * weight[3] * y;
        return (new(2 * macs, 4 * (x.Length + weight.Length + y)), new(4 * macs, 4 * (2L * x.Length + 2L * weight.Length + y)));
    }

    internal void Validate(Backend b, Tensor x, Tensor weight, Tensor y, string yName = "y")
    {
        const string op = "Conv2d";
        foreach (var (n, t) in new[] { ("x", x), ("weight", weight), (yName, y) }) Check.Owned(b, op, n, t);
        Check.That(Stride >= 1 && Padding >= 0, op, "p", $"stride must be at least 1 and padding non-negative, got stride {Stride}, padding {Padding}.");
        Check.Rank(op, "x", x, 4, "N, I, H, W");
        Check.Rank(op, "weight", weight, 4, "O, I, k, k");
        var (n_, i, h, w) = x.Shape.Nchw;
        var (o, wi, kh, kw) = weight.Shape.Nchw;
        Check.That(kh == kw, op, "weight", $"kernels must be square, got {kh}x{kw}.");
        Check.That(wi == i, op, "weight", $"weight has {wi} input channels but x has {i}.");
        Check.That(OutSize(h, kh) >= 1 && OutSize(w, kw) >= 1 && h + 2 * Padding >= kh && w + 2 * Padding >= kw, op, "x",
            $"a {h}x{w} input is smaller than the {kh}x{kw} kernel with padding {Padding}.");
        Check.Shape(op, yName, y, new Shape(n_, o, OutSize(h, kh), OutSize(w, kw)), "N, O, Hout, Wout");
    }
}

public static partial class Reference
{
    public static double[] Conv2dForward(double[] x, Shape xShape, double[] w, Shape wShape, Conv2dParams p)
    {
        var (n, ci, h, wd) = xShape.Nchw;
        var (co, _, k, _) = wShape.Nchw;
        int oh = p.OutSize(h, k), ow = p.OutSize(wd, k);
        var y = new double[n * co * oh * ow];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < co; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double acc = 0;
                        for (int i = 0; i < ci; i++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++)
                                {
                                    int iy = oy * p.Stride + ky - p.Padding, ix = ox * p.Stride + kx - p.Padding;
                                    if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
                                    acc += x[((b * ci + i) * h + iy) * wd + ix] * w[((o * ci + i) * k + ky) * k + kx];
                                }
                        y[((b * co + o) * oh + oy) * ow + ox] = acc * p.WeightGain;
                    }
        return y;
    }

    public static (double[] Dx, double[] DWeight) Conv2dBackward(double[] x, Shape xShape, double[] w, Shape wShape, double[] dy, Conv2dParams p)
    {
        var (n, ci, h, wd) = xShape.Nchw;
        var (co, _, k, _) = wShape.Nchw;
        int oh = p.OutSize(h, k), ow = p.OutSize(wd, k);
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < co; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double g = dy[((b * co + o) * oh + oy) * ow + ox] * p.WeightGain;
                        for (int i = 0; i < ci; i++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++)
                                {
                                    int iy = oy * p.Stride + ky - p.Padding, ix = ox * p.Stride + kx - p.Padding;
                                    if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
                                    int xi = ((b * ci + i) * h + iy) * wd + ix, wi = ((o * ci + i) * k + ky) * k + kx;
                                    dx[xi] += g * w[wi];
                                    dw[wi] += g * x[xi];
                                }
                    }
        return (dx, dw);
    }
}
