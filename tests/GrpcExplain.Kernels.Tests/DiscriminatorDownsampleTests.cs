using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

/// <summary>The discriminator's downsampling 3x3 conv: FIR with pad 2, then a 3x3 stride-2 convolution (H → H/2).</summary>
public sealed record DiscriminatorDownCase(int N, int I, int O, int H, bool Large = false) : IOpCase
{
    public static Upfirdn2dParams Fir { get; } = new(PadX0: 2, PadX1: 2, PadY0: 2, PadY1: 2);
    public string Name => $"N{N}_I{I}_O{O}_{H}x{H}";
    public Conv2dParams P => new(Stride: 2, Padding: 0, Conv2dParams.EqualizedGain(I, 3));
    public Shape XShape => new(N, I, H, H);
    public Shape TShape => Fir.OutputShape(XShape);
    public Shape WShape => new(O, I, 3, 3);
    public Shape YShape => new(N, O, H / 2, H / 2);
}

/// <summary>The two ops chained as the discriminator runs them, forward and backward, on every backend.</summary>
public sealed class DiscriminatorDownsampleTests(BackendPool pool)
{
    public static IReadOnlyList<DiscriminatorDownCase> All { get; } =
    [
        new(2, 3, 5, 4),
        new(1, 5, 3, 8),
        new(2, 17, 19, 64, Large: true),
        new(1, 32, 64, 32, Large: true),
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    [Theory, MemberData(nameof(Cases))]
    public void ForwardAndBackward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var rng = TestData.Rng("disc " + c.Name);
        double[] xd = TestData.NormalDouble(rng, c.XShape.Length), wd = TestData.NormalDouble(rng, c.WShape.Length), dyd = TestData.NormalDouble(rng, c.YShape.Length);
        var (yRef, dxRef, dwRef) = ReferenceCache.Get("disc " + c.Name, () =>
        {
            var td = Reference.Upfirdn2dForward(xd, c.XShape, DiscriminatorDownCase.Fir);
            var (dtRef, dwRef) = Reference.Conv2dBackward(td, c.TShape, wd, c.WShape, dyd, c.P);
            return (Reference.Conv2dForward(td, c.TShape, wd, c.WShape, c.P), Reference.Upfirdn2dBackward(dtRef, c.XShape, DiscriminatorDownCase.Fir), dwRef);
        });
        Assert.Equal(c.YShape.Length, yRef.Length);

        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(xd), c.XShape);
        using var w = b.Upload(TestData.ToFloat(wd), c.WShape);
        using var t = b.Sentinel(c.TShape);
        using var y = b.Sentinel(c.YShape);
        b.Upfirdn2dForward(x, t, DiscriminatorDownCase.Fir);
        b.Conv2dForward(t, w, y, c.P);
        Accuracy.AssertClose("y", b.Download(y), yRef, y.Shape);

        using var dy = b.Upload(TestData.ToFloat(dyd), c.YShape);
        using var dt = b.Sentinel(c.TShape);
        using var dw = b.Sentinel(c.WShape);
        using var dx = b.Sentinel(c.XShape);
        b.Conv2dBackward(t, w, dy, dt, dw, c.P);
        b.Upfirdn2dBackward(dt, dx, DiscriminatorDownCase.Fir);
        Accuracy.AssertClose("dWeight", b.Download(dw), dwRef, dw.Shape);
        Accuracy.AssertClose("dx", b.Download(dx), dxRef, dx.Shape);
    }
}
