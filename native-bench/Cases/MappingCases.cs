using GrpcExplain.Kernels;
using static NativeBench.Cases.HostData;

namespace NativeBench.Cases;

/// <summary>A mapping-network layer: fully connected with equalized learning rate (lr_mul 0.01, leaky ReLU).</summary>
internal sealed class FullyConnectedCase(int n, int inF, int outF, FullyConnectedParams p) : KernelCase
{
    public override string Op => "fully_connected";
    public override string ShapeName => $"N{n}_I{inF}_O{outF}";
    public override int Batch => n;

    private Shape X => new(n, inF);
    private Shape W => new(outF, inF);
    private Shape Y => new(n, outF);

    protected override (KernelCost Forward, KernelCost Backward) Cost => FullyConnectedParams.Cost(n, inF, outF);

    public override KernelCase Reduced() => new FullyConnectedCase(Cap.Batch(n), Cap.Channels(inF), Cap.Channels(outF), p);

    private float[] HostX => Uniform(X.Length, 1);
    private float[] HostW => Uniform(W.Length, 2);
    private float[] HostBias => Uniform(outF, 3);
    private float[] HostDy => Uniform(Y.Length, 4);

    public override Bound Bind(Backend b)
    {
        var (x, wt, bias, dy) = (b.Upload(HostX, X), b.Upload(HostW, W), b.Upload(HostBias, new Shape(outF)), b.Upload(HostDy, Y));
        var (y, dx, dw, db) = (b.Allocate(Y), b.Allocate(X), b.Allocate(W), b.Allocate(outF));
        return new Bound(b,
            () => b.FullyConnectedForward(x, wt, bias, y, p),
            () => b.FullyConnectedBackward(x, wt, y, dy, dx, dw, db, p),
            d => d == Direction.Forward ? [y] : [dx, dw, db],
            backwardNeedsForward: true,
            x, wt, bias, dy, y, dx, dw, db);
    }

    public override double[][] Expected(Direction d)
    {
        var (x, wt) = (D(HostX), D(HostW));
        var y = Reference.FullyConnectedForward(x, wt, D(HostBias), n, inF, outF, p);
        if (d == Direction.Forward) return [y];
        var (dx, dw, db) = Reference.FullyConnectedBackward(x, wt, y, D(HostDy), n, inF, outF, p);
        return [dx, dw, db];
    }
}

/// <summary>normalize_2nd_moment of the latent z before the mapping network; FLOPs nominal (3 per element forward, 5 backward).</summary>
internal sealed class Normalize2ndMomentCase(int n, int features) : KernelCase
{
    public override string Op => "normalize_2nd_moment";
    public override string ShapeName => $"N{n}_F{features}";
    public override int Batch => n;

    private Shape X => new(n, features);

    protected override (KernelCost Forward, KernelCost Backward) Cost => Normalize2ndMoment.Cost(n, features);

    public override KernelCase Reduced() => new Normalize2ndMomentCase(Cap.Batch(n), Cap.Channels(features));

    private float[] HostX => Uniform(X.Length, 1);
    private float[] HostDy => Uniform(X.Length, 4);

    public override Bound Bind(Backend b)
    {
        var (x, dy, y, dx) = (b.Upload(HostX, X), b.Upload(HostDy, X), b.Allocate(X), b.Allocate(X));
        return new Bound(b,
            () => b.Normalize2ndMomentForward(x, y),
            () => b.Normalize2ndMomentBackward(x, dy, dx),
            d => d == Direction.Forward ? [y] : [dx],
            backwardNeedsForward: false,
            x, dy, y, dx);
    }

    public override double[][] Expected(Direction d) => d == Direction.Forward
        ? [Reference.Normalize2ndMomentForward(D(HostX), n, features)]
        : [Reference.Normalize2ndMomentBackward(D(HostX), D(HostDy), n, features)];
}
