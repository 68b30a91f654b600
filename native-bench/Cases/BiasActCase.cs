using GrpcExplain.Kernels;
using static NativeBench.Cases.HostData;

namespace NativeBench.Cases;

/// <summary>
/// The fused epilogue of every synthesis convolution: + noise·strength + bias, leaky ReLU 0.2, gain √2,
/// clamp ±256 (conv_clamp), with per-sample noise [N, 1, H, W]. Memory-bound: read its GB/s. FLOPs are
/// nominal, 5 per element forward (noise multiply-add, bias, slope, gain) and 7 backward (slope and gain,
/// and the three reductions for bias, noise and strength).
/// </summary>
internal sealed class BiasActCase(int n, int c, int h, int w) : KernelCase
{
    private static readonly BiasActivateParams P = BiasActivateParams.LeakyRelu(clamp: 256f);

    public override string Op => "bias_act";
    public override string ShapeName => $"N{n}_C{c}_H{h}_W{w}";
    public override int Batch => n;

    private Shape X => new(n, c, h, w);
    private Shape Noise => new(n, 1, h, w);

    protected override (KernelCost Forward, KernelCost Backward) Cost => BiasActivateParams.Cost(X, bias: true, noiseBatch: n);

    public override KernelCase Reduced() => new BiasActCase(Cap.Batch(n), Cap.Channels(c), Cap.Size(h), Cap.Size(w));

    private float[] HostX => Uniform(X.Length, 1);
    private float[] HostBias => Uniform(c, 2);
    private float[] HostNoise => Uniform(Noise.Length, 3);
    private static float[] HostStrength => [0.5f];
    private float[] HostDy => Uniform(X.Length, 4);

    public override Bound Bind(Backend b)
    {
        var (x, bias, noise, strength, dy) = (b.Upload(HostX, X), b.Upload(HostBias, new Shape(c)),
            b.Upload(HostNoise, Noise), b.Upload(HostStrength, new Shape(1)), b.Upload(HostDy, X));
        var (y, dx, dBias, dNoise, dStrength) = (b.Allocate(X), b.Allocate(X), b.Allocate(c), b.Allocate(Noise), b.Allocate(1));
        return new Bound(b,
            () => b.BiasActivateForward(x, bias, noise, strength, y, P),
            () => b.BiasActivateBackward(y, dy, noise, strength, dx, dBias, dNoise, dStrength, P),
            d => d == Direction.Forward ? [y] : [dx, dBias, dNoise, dStrength],
            backwardNeedsForward: true,
            x, bias, noise, strength, dy, y, dx, dBias, dNoise, dStrength);
    }

    public override double[][] Expected(Direction d)
    {
        var (x, bias, noise) = (D(HostX), D(HostBias), D(HostNoise));
        double strength = HostStrength[0];
        if (d == Direction.Forward) return [Reference.BiasActivateForward(x, X, bias, noise, n, strength, P)];
        var (dx, db, dn, ds) = Reference.BiasActivateBackward(x, X, bias, noise, n, strength, D(HostDy), P);
        return [dx, db, dn!, [ds]];
    }
}
