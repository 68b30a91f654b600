namespace GrpcExplain.Kernels;

/// <summary>
/// The fused epilogue of every StyleGAN2 layer (bias_act with the noise input folded in):
/// y = clamp(gain · act(x + noise·strength + bias), ±clamp), act = leaky ReLU with the given slope
/// (0.2 in StyleGAN2, 0 for ReLU, 1 for linear). x, y [N, C, H, W]; bias [C]; noise [1 or N, 1, H, W]
/// broadcast over channels; strength [1]. Clamp ≤ 0 means no clamp. y may be x itself.
/// </summary>
public sealed record BiasActivateParams(float Slope = 0.2f, float Gain = 1.41421356f, float Clamp = -1f)
{
    public static BiasActivateParams LeakyRelu(float clamp = -1f) => new(0.2f, MathF.Sqrt(2), clamp);

    /// <summary>
    /// Forward reads x, bias, noise, strength and writes y; backward reads y, dy, noise, strength and
    /// writes dx, dBias, dNoise, dStrength. noiseBatch 0 means no noise.
    /// </summary>
    public static (KernelCost Forward, KernelCost Backward) Cost(Shape x, bool bias, int noiseBatch)
    {
        long c = bias ? x[1] : 0, noise = noiseBatch == 0 ? 0 : (long)noiseBatch * x[2] * x[3] + 1;
        return (new(5L * x.Length, 4 * (2L * x.Length + c + noise)), new(7L * x.Length, 4 * (3L * x.Length + c + 2 * noise)));
    }
    public static BiasActivateParams Linear(float clamp = -1f) => new(1f, 1f, clamp);
    public static BiasActivateParams Relu { get; } = new(0f, 1f);

    internal void Validate(Backend b, Tensor x, Tensor? bias, Tensor? noise, Tensor? strength, Tensor y, Tensor? dy = null, string xName = "x")
    {
        const string op = "BiasActivate";
        foreach (var (n, t) in new[] { (xName, x), ("bias", bias), ("noise", noise), ("noise_strength", strength), ("y", y), ("dy", dy) })
            Check.Owned(b, op, n, t);
        Check.That(Gain > 0 && Slope >= 0 && float.IsFinite(Gain) && float.IsFinite(Slope), op, "p", $"gain must be positive and slope non-negative, got gain {Gain}, slope {Slope}.");
        Check.Rank(op, xName, x, 4, "N, C, H, W");
        var (n_, c, h, w) = x.Shape.Nchw;
        Check.Shape(op, "bias", bias, new Shape(c), "channels");
        if (noise is not null)
        {
            Check.That(strength is not null, op, "noise_strength", "noise needs a noise_strength tensor of shape [1].");
            Check.Rank(op, "noise", noise, 4, "1 or N, 1, H, W");
            Check.That(noise.Shape[0] == 1 || noise.Shape[0] == n_, op, "noise", $"noise batch must be 1 or {n_}, got {noise.Shape}.");
            Check.Shape(op, "noise", noise, new Shape(noise.Shape[0], 1, h, w), "1 or N, 1, H, W");
            Check.Shape(op, "noise_strength", strength, new Shape(1), "one scalar");
        }
        Check.Shape(op, "y", y, x.Shape, $"same as {xName}");
        Check.Shape(op, "dy", dy, x.Shape, $"same as {xName}");
    }
}

public static partial class Reference
{
    public static double[] BiasActivateForward(double[] x, Shape shape, double[]? bias, double[]? noise, int noiseBatch, double strength, BiasActivateParams p)
    {
        var (n, c, h, w) = shape.Nchw;
        var y = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < h * w; q++)
                {
                    int j = (b * c + ch) * h * w + q;
                    double z = x[j] + (bias?[ch] ?? 0) + (noise is null ? 0 : noise[(noiseBatch == 1 ? 0 : b) * h * w + q] * strength);
                    double a = (z > 0 ? z : p.Slope * z) * p.Gain;
                    y[j] = p.Clamp > 0 ? Math.Clamp(a, -p.Clamp, p.Clamp) : a;
                }
        return y;
    }

    public static (double[] Dx, double[] DBias, double[]? DNoise, double DStrength) BiasActivateBackward(
        double[] x, Shape shape, double[]? bias, double[]? noise, int noiseBatch, double strength, double[] dy, BiasActivateParams p)
    {
        var (n, c, h, w) = shape.Nchw;
        var dx = new double[x.Length];
        var db = new double[c];
        var dn = noise is null ? null : new double[noise.Length];
        double ds = 0;
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < h * w; q++)
                {
                    int j = (b * c + ch) * h * w + q, nj = (noiseBatch == 1 ? 0 : b) * h * w + q;
                    double z = x[j] + (bias?[ch] ?? 0) + (noise is null ? 0 : noise[nj] * strength);
                    double a = (z > 0 ? z : p.Slope * z) * p.Gain;
                    bool clamped = p.Clamp > 0 && Math.Abs(a) > p.Clamp;
                    double g = clamped ? 0 : dy[j] * p.Gain * (z > 0 ? 1 : p.Slope);
                    dx[j] = g;
                    db[ch] += g;
                    if (noise is not null)
                    {
                        dn![nj] += g * strength;
                        ds += g * noise[nj];
                    }
                }
        return (dx, db, dn, ds);
    }
}

/// <summary>
/// A layer's bias_act (see <see cref="BiasActivateParams"/>) applied as a convolution writes its output,
/// instead of as a pass of its own: the inference path of every synthesis layer.
/// </summary>
public sealed record ConvEpilogue(Tensor? Bias, Tensor? Noise, Tensor? NoiseStrength, BiasActivateParams Params);
