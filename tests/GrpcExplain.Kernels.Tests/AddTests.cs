using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

public sealed record AddCase(int N, int C, int H, int W, bool Large = false) : IOpCase
{
    public string Name => $"N{N}_C{C}_{H}x{W}";
    public Shape Shape => new(N, C, H, W);
}

/// <summary>The skip image's sum on every backend against the reference, also in place.</summary>
public sealed class AddTests(BackendPool pool)
{
    public static IReadOnlyList<AddCase> All { get; } =
    [
        new(1, 1, 1, 1),
        new(2, 3, 5, 7),
        new(2, 3, 64, 64, Large: true),
        new(3, 17, 33, 31, Large: true),
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    [Theory, MemberData(nameof(Cases))]
    public void Forward(string backend, string @case) => Run(backend, @case, inPlace: false);

    [Theory, MemberData(nameof(Cases))]
    public void ForwardInPlace(string backend, string @case) => Run(backend, @case, inPlace: true);

    private void Run(string backend, string @case, bool inPlace)
    {
        var c = OpCases.Find(All, @case);
        var rng = TestData.Rng("add " + c.Name);
        var (ad, bd) = (TestData.NormalDouble(rng, c.Shape.Length), TestData.NormalDouble(rng, c.Shape.Length));
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var a = b.Upload(TestData.ToFloat(ad), c.Shape);
        using var bt = b.Upload(TestData.ToFloat(bd), c.Shape);
        using var y = inPlace ? null : b.Sentinel(c.Shape);
        b.AddForward(a, bt, y ?? a);
        Accuracy.AssertClose("y", b.Download(y ?? a), Reference.AddForward(ad, bd), c.Shape);
    }

    [Fact]
    public void MismatchedShapesAreRejected()
    {
        using var lease = pool.Acquire(TestBackends.Selected[0]);
        var b = lease.Backend;
        using var a = b.Allocate(2, 3, 4, 4);
        using var other = b.Allocate(2, 3, 4, 5);
        var e = Assert.Throws<ArgumentException>(() => b.AddForward(a, other, a));
        Assert.Contains("Add: b must have shape [2, 3, 4, 4]", e.Message, StringComparison.Ordinal);
    }
}
