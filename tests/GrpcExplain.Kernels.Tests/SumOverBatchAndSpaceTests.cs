using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

public sealed record SumCase(int N, int C, int H, int W, bool Large = false) : IOpCase
{
    public string Name => $"N{N}_C{C}_{H}x{W}";
    public Shape XShape => new(N, C, H, W);
}

/// <summary>The bias-gradient reduction and its broadcast backward on every backend against the reference.</summary>
public sealed class SumOverBatchAndSpaceTests(BackendPool pool)
{
    public static IReadOnlyList<SumCase> All { get; } =
    [
        new(1, 1, 1, 1),
        new(3, 17, 5, 7),
        new(4, 512, 4, 4),
        new(2, 3, 16, 16),
        new(2, 19, 64, 64, Large: true),
        new(8, 5, 33, 31, Large: true),
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    [Theory, MemberData(nameof(Cases))]
    public void Forward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var xd = TestData.NormalDouble(TestData.Rng("sum " + c.Name), c.XShape.Length);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(xd), c.XShape);
        using var y = b.Sentinel(c.C);
        b.SumOverBatchAndSpaceForward(x, y);
        Accuracy.AssertClose("y", b.Download(y), Reference.SumOverBatchAndSpaceForward(xd, c.XShape), y.Shape);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Backward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var dyd = TestData.NormalDouble(TestData.Rng("sum dy " + c.Name), c.C);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var dy = b.Upload(TestData.ToFloat(dyd), c.C);
        using var dx = b.Sentinel(c.XShape);
        b.SumOverBatchAndSpaceBackward(dy, dx);
        Accuracy.AssertClose("dx", b.Download(dx), Reference.SumOverBatchAndSpaceBackward(dyd, c.XShape), dx.Shape);
    }
}
