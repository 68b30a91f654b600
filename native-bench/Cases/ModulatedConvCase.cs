using GrpcExplain.Kernels;
using static NativeBench.Cases.HostData;

namespace NativeBench.Cases;

/// <summary>
/// StyleGAN2's modulated convolutions: the 3x3 with demodulation at the block's resolution (conv1), its
/// 2x upsampling form (conv0: stride-2 transposed convolution, then the 4x4 FIR filter), and ToRGB
/// (1x1, no demodulation). FLOPs: the convolution's multiply-adds (backward: data and weight gradients,
/// twice the forward's) plus the FIR filter's; the O(N·O·I) modulation and demodulation terms are left out.
/// </summary>
internal sealed class ModulatedConvCase(ModulatedConvCase.Kind kind, int n, int i, int o, int h, int w) : KernelCase
{
    public enum Kind { SameRes, Up3x3, ToRgb }

    public override string Op => kind switch
    {
        Kind.SameRes => "modulated_conv3x3",
        Kind.Up3x3 => "modulated_conv3x3_up",
        _ => "torgb",
    };

    public override string ShapeName => $"N{n}_I{i}_O{o}_H{h}_W{w}";
    public override int Batch => n;

    private int K => kind == Kind.ToRgb ? 1 : 3;
    private ModulatedConv2dParams P => new(Demodulate: kind != Kind.ToRgb, Up: kind == Kind.Up3x3);
    private Shape X => new(n, i, h, w);
    private Shape W => new(o, i, K, K);
    private Shape S => new(n, i);
    private Shape Y => P.OutputShape(X, W);

    protected override (KernelCost Forward, KernelCost Backward) Cost => P.Cost(X, W);

    public override KernelCase Reduced() => new ModulatedConvCase(kind, Cap.Batch(n), Cap.Channels(i),
        kind == Kind.ToRgb ? o : Cap.Channels(o), Cap.Size(h), Cap.Size(w));

    public override BaselineConv? Baseline => kind == Kind.Up3x3 ? null : new(n, i, o, h, w, K, 1, K / 2);

    private float[] HostX => Uniform(X.Length, 1);
    private float[] HostW => Uniform(W.Length, 2);
    private float[] HostS => Uniform(S.Length, 3, 0.5f, 1.5f); // styles sit around 1 (the affine layer's bias init)
    private float[] HostDy => Uniform(Y.Length, 4);

    public override Bound Bind(Backend b)
    {
        var (x, wt, s, dy) = (b.Upload(HostX, X), b.Upload(HostW, W), b.Upload(HostS, S), b.Upload(HostDy, Y));
        var (y, dx, dw, ds) = (b.Allocate(Y), b.Allocate(X), b.Allocate(W), b.Allocate(S));
        var p = P;
        return new Bound(b,
            () => b.ModulatedConv2dForward(x, wt, s, y, p),
            () => b.ModulatedConv2dBackward(x, wt, s, y, dy, dx, dw, ds, p),
            d => d == Direction.Forward ? [y] : [dx, dw, ds],
            backwardNeedsForward: true,
            x, wt, s, dy, y, dx, dw, ds);
    }

    public override double[][] Expected(Direction d)
    {
        var (x, wt, s) = (D(HostX), D(HostW), D(HostS));
        if (d == Direction.Forward) return [Reference.ModulatedConv2dForward(x, X, wt, W, s, P)];
        var (dx, dw, ds) = Reference.ModulatedConv2dBackward(x, X, wt, W, s, D(HostDy), P);
        return [dx, dw, ds];
    }
}
