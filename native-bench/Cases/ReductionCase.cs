using GrpcExplain.Kernels;
using static NativeBench.Cases.HostData;

namespace NativeBench.Cases;

/// <summary>Sum over batch and space, [N, C, H, W] → [C], the bias-gradient reduction; backward broadcasts back.</summary>
internal sealed class ReductionCase(int n, int c, int h, int w) : KernelCase
{
    public override string Op => "sum_over_batch_and_space";
    public override string ShapeName => $"N{n}_C{c}_H{h}_W{w}";
    public override int Batch => n;

    private Shape X => new(n, c, h, w);

    protected override (KernelCost Forward, KernelCost Backward) Cost => SumOverBatchAndSpace.Cost(X);

    public override KernelCase Reduced() => new ReductionCase(Cap.Batch(n), Cap.Channels(c), Cap.Size(h), Cap.Size(w));

    private float[] HostX => Uniform(X.Length, 1);
    private float[] HostDy => Uniform(c, 4);

    public override Bound Bind(Backend b)
    {
        var (x, dy, y, dx) = (b.Upload(HostX, X), b.Upload(HostDy, new Shape(c)), b.Allocate(c), b.Allocate(X));
        return new Bound(b,
            () => b.SumOverBatchAndSpaceForward(x, y),
            () => b.SumOverBatchAndSpaceBackward(dy, dx),
            d => d == Direction.Forward ? [y] : [dx],
            backwardNeedsForward: false,
            x, dy, y, dx);
    }

    public override double[][] Expected(Direction d) => d == Direction.Forward
        ? [Reference.SumOverBatchAndSpaceForward(D(HostX), X)]
        : [Reference.SumOverBatchAndSpaceBackward(D(HostDy), X)];
}
