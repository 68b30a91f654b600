using GrpcExplain.Kernels;
using static NativeBench.Cases.HostData;

namespace NativeBench.Cases;

/// <summary>
/// Plain convolutions with the equalized-learning-rate gain, as a StyleGAN2 discriminator uses them:
/// 3x3 stride 1 pad 1 (conv0, and the 4x4 block after minibatch-stddev), the downsampling 3x3 stride 2
/// pad 0 (after the pad-2 FIR filter, so its input map is one pixel larger than the block's), and 1x1
/// (fromrgb, and the skip after Downsample2x).
/// </summary>
internal sealed class Conv2dCase(Conv2dCase.Kind kind, int n, int i, int o, int h, int w) : KernelCase
{
    public enum Kind { Conv3x3, Conv3x3Stride2, Conv1x1 }

    public override string Op => kind switch
    {
        Kind.Conv3x3 => "conv2d_3x3",
        Kind.Conv3x3Stride2 => "conv2d_3x3_s2",
        _ => "conv2d_1x1",
    };

    public override string ShapeName => $"N{n}_I{i}_O{o}_H{h}_W{w}";
    public override int Batch => n;

    private int K => kind == Kind.Conv1x1 ? 1 : 3;
    private int Stride => kind == Kind.Conv3x3Stride2 ? 2 : 1;
    private int Padding => kind == Kind.Conv3x3 ? 1 : 0;
    private Conv2dParams P => new(Stride, Padding, Conv2dParams.EqualizedGain(i, K));
    private Shape X => new(n, i, h, w);
    private Shape W => new(o, i, K, K);
    private Shape Y => new(n, o, P.OutSize(h, K), P.OutSize(w, K));

    protected override (KernelCost Forward, KernelCost Backward) Cost => P.Cost(X, W);

    public override KernelCase Reduced() =>
        new Conv2dCase(kind, Cap.Batch(n), Cap.Channels(i), Cap.Channels(o), Cap.Size(h), Cap.Size(w));

    public override BaselineConv? Baseline => new(n, i, o, h, w, K, Stride, Padding);

    private float[] HostX => Uniform(X.Length, 1);
    private float[] HostW => Uniform(W.Length, 2);
    private float[] HostDy => Uniform(Y.Length, 4);

    public override Bound Bind(Backend b)
    {
        var (x, wt, dy) = (b.Upload(HostX, X), b.Upload(HostW, W), b.Upload(HostDy, Y));
        var (y, dx, dw) = (b.Allocate(Y), b.Allocate(X), b.Allocate(W));
        var p = P;
        return new Bound(b,
            () => b.Conv2dForward(x, wt, y, p),
            () => b.Conv2dBackward(x, wt, dy, dx, dw, p),
            d => d == Direction.Forward ? [y] : [dx, dw],
            backwardNeedsForward: false,
            x, wt, dy, y, dx, dw);
    }

    public override double[][] Expected(Direction d)
    {
        var (x, wt) = (D(HostX), D(HostW));
        if (d == Direction.Forward) return [Reference.Conv2dForward(x, X, wt, W, P)];
        var (dx, dw) = Reference.Conv2dBackward(x, X, wt, W, D(HostDy), P);
        return [dx, dw];
    }
}
