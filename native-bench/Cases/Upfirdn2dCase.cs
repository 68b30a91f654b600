using GrpcExplain.Kernels;
using static NativeBench.Cases.HostData;

namespace NativeBench.Cases;

/// <summary>
/// upfirdn2d with StyleGAN2's 4x4 binomial filter: the generator's skip-image upsample (Upsample2x), the
/// discriminator's skip downsample (Downsample2x) and the pad-2 blur before its stride-2 convolution.
/// FLOPs count only the taps that meet an input pixel (taps / up² per output pixel); the adjoint has as many.
/// </summary>
internal sealed class Upfirdn2dCase(Upfirdn2dCase.Kind kind, int n, int c, int h, int w) : KernelCase
{
    public enum Kind { Up2, Down2, Pad2 }

    private static readonly Upfirdn2dParams Pad2Blur = new(PadX0: 2, PadX1: 2, PadY0: 2, PadY1: 2);

    public override string Op => kind switch
    {
        Kind.Up2 => "upfirdn2d_up2",
        Kind.Down2 => "upfirdn2d_down2",
        _ => "upfirdn2d_pad2",
    };

    public override string ShapeName => $"N{n}_C{c}_H{h}_W{w}";
    public override int Batch => n;

    private Upfirdn2dParams P => kind switch
    {
        Kind.Up2 => Upfirdn2dParams.Upsample2x,
        Kind.Down2 => Upfirdn2dParams.Downsample2x,
        _ => Pad2Blur,
    };

    private Shape X => new(n, c, h, w);
    private Shape Y => P.OutputShape(X);

    protected override (KernelCost Forward, KernelCost Backward) Cost => P.Cost(X);

    public override KernelCase Reduced() => new Upfirdn2dCase(kind, Cap.Batch(n), Cap.Channels(c), Cap.Size(h), Cap.Size(w));

    private float[] HostX => Uniform(X.Length, 1);
    private float[] HostDy => Uniform(Y.Length, 4);

    public override Bound Bind(Backend b)
    {
        var (x, dy, y, dx) = (b.Upload(HostX, X), b.Upload(HostDy, Y), b.Allocate(Y), b.Allocate(X));
        var p = P;
        return new Bound(b,
            () => b.Upfirdn2dForward(x, y, p),
            () => b.Upfirdn2dBackward(dy, dx, p),
            d => d == Direction.Forward ? [y] : [dx],
            backwardNeedsForward: false,
            x, dy, y, dx);
    }

    public override double[][] Expected(Direction d) => d == Direction.Forward
        ? [Reference.Upfirdn2dForward(D(HostX), X, P)]
        : [Reference.Upfirdn2dBackward(D(HostDy), X, P)];
}
