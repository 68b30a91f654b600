using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

public sealed record Conv2dCase(int N, int I, int O, int H, int W, int K, int Stride, int Padding, bool Large = false) : IOpCase
{
    public string Name => $"N{N}_I{I}_O{O}_{H}x{W}_k{K}_s{Stride}_p{Padding}";
    public Conv2dParams P => new(Stride, Padding, Conv2dParams.EqualizedGain(I, K));
    public Shape XShape => new(N, I, H, W);
    public Shape WShape => new(O, I, K, K);
    public Shape YShape => new(N, O, P.OutSize(H, K), P.OutSize(W, K));
}

/// <summary>Plain convolution forward and backward on every backend against the double-precision reference.</summary>
public sealed class Conv2dTests(BackendPool pool)
{
    public static IReadOnlyList<Conv2dCase> All { get; } =
    [
        new(2, 3, 5, 6, 6, 3, 1, 1),
        new(2, 17, 19, 5, 7, 1, 1, 0),
        new(1, 3, 5, 1, 1, 3, 1, 1),     // 1x1 map: only the kernel's centre touches data
        new(1, 4, 3, 3, 3, 3, 1, 0),     // one output pixel
        new(2, 3, 4, 7, 7, 3, 2, 1),     // stride 2 on an odd map
        new(2, 5, 3, 8, 8, 1, 2, 0),     // the discriminator's 1x1 skip with stride 2
        new(2, 3, 5, 9, 9, 3, 2, 0),     // the discriminator's 3x3 stride 2 after the pad-2 FIR (8x8 → 9x9 → 4x4)
        new(1, 5, 4, 6, 5, 3, 1, 2),     // padding wider than the kernel's half
        new(2, 3, 21, 7, 9, 1, 1, 0),    // FromRGB: 1x1 from 3 channels (the CPU's narrow pointwise path)
        new(2, 21, 2, 5, 6, 1, 1, 0),    // 1x1 to 2 channels (narrow on the other side)
        new(2, 19, 17, 64, 64, 3, 1, 1, Large: true),
        new(2, 32, 33, 65, 65, 3, 2, 0, Large: true),
        new(3, 19, 5, 33, 31, 1, 2, 0, Large: true),
        new(1, 64, 64, 16, 16, 3, 1, 1, Large: true),
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    private static (double[] X, double[] W, double[] Dy) Make(Conv2dCase c)
    {
        var rng = TestData.Rng("conv " + c.Name);
        return (TestData.NormalDouble(rng, c.XShape.Length), TestData.NormalDouble(rng, c.WShape.Length), TestData.NormalDouble(rng, c.YShape.Length));
    }

    [Theory, MemberData(nameof(Cases))]
    public void Forward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var (xd, wd, _) = Make(c);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(xd), c.XShape);
        using var w = b.Upload(TestData.ToFloat(wd), c.WShape);
        using var y = b.Sentinel(c.YShape);
        b.Conv2dForward(x, w, y, c.P);
        Accuracy.AssertClose("y", b.Download(y), ReferenceCache.Get("conv y " + c.Name, () => Reference.Conv2dForward(xd, c.XShape, wd, c.WShape, c.P)), y.Shape);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Backward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var (xd, wd, dyd) = Make(c);
        var (dxRef, dwRef) = ReferenceCache.Get("conv grads " + c.Name, () => Reference.Conv2dBackward(xd, c.XShape, wd, c.WShape, dyd, c.P));
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(xd), c.XShape);
        using var w = b.Upload(TestData.ToFloat(wd), c.WShape);
        using var dy = b.Upload(TestData.ToFloat(dyd), c.YShape);
        foreach (var (label, want) in GradientSubsets.Of("dx", "dWeight"))
        {
            using var dx = b.SentinelIf(want[0], c.XShape);
            using var dw = b.SentinelIf(want[1], c.WShape);
            b.Conv2dBackward(x, w, dy, dx, dw, c.P);
            if (dx is not null) Accuracy.AssertClose($"dx ({label})", b.Download(dx), dxRef, dx.Shape);
            if (dw is not null) Accuracy.AssertClose($"dWeight ({label})", b.Download(dw), dwRef, dw.Shape);
        }
    }
}
