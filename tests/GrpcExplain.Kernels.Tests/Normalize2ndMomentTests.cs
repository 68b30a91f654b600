using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

public sealed record Normalize2ndMomentCase(int N, int F, double Scale = 1, bool Large = false) : IOpCase
{
    public string Name => $"N{N}_F{F}" + (Scale == 1 ? "" : $"_scale{Scale}");
}

/// <summary>normalize_2nd_moment forward and backward on every backend against the double-precision reference.</summary>
public sealed class Normalize2ndMomentTests(BackendPool pool)
{
    public static IReadOnlyList<Normalize2ndMomentCase> All { get; } =
    [
        new(1, 3),
        new(3, 17),
        new(5, 19, Scale: 1e-3),
        new(4, 512),   // z of the mapping network
        new(2, 1000, Scale: 50),
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    private static (double[] X, double[] Dy) Make(Normalize2ndMomentCase c)
    {
        var rng = TestData.Rng("norm " + c.Name);
        return (TestData.NormalDouble(rng, c.N * c.F, c.Scale), TestData.NormalDouble(rng, c.N * c.F));
    }

    [Theory, MemberData(nameof(Cases))]
    public void Forward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var (xd, _) = Make(c);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(xd), c.N, c.F);
        using var y = b.Sentinel(c.N, c.F);
        b.Normalize2ndMomentForward(x, y);
        Accuracy.AssertClose("y", b.Download(y), Reference.Normalize2ndMomentForward(xd, c.N, c.F), y.Shape);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Backward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var (xd, dyd) = Make(c);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(xd), c.N, c.F);
        using var dy = b.Upload(TestData.ToFloat(dyd), c.N, c.F);
        using var dx = b.Sentinel(c.N, c.F);
        b.Normalize2ndMomentBackward(x, dy, dx);
        Accuracy.AssertClose("dx", b.Download(dx), Reference.Normalize2ndMomentBackward(xd, dyd, c.N, c.F), dx.Shape);
    }
}
