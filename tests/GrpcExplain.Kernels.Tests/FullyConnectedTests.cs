using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

public sealed record FullyConnectedCase(int N, int In, int Out, float LrMul, bool LeakyRelu, bool Bias = true, bool Large = false) : IOpCase
{
    public string Name => $"N{N}_In{In}_Out{Out}_lrmul{LrMul}{(LeakyRelu ? "_lrelu" : "")}{(Bias ? "" : "_nobias")}";
    public FullyConnectedParams P => new(LrMul, LeakyRelu);
}

/// <summary>FullyConnected forward and backward on every backend against the double-precision reference.</summary>
public sealed class FullyConnectedTests(BackendPool pool)
{
    public static IReadOnlyList<FullyConnectedCase> All { get; } =
    [
        new(1, 8, 5, 1f, false),
        new(3, 17, 19, 1f, true),
        new(2, 3, 1, 1f, true, Bias: false),
        new(4, 32, 33, 0.01f, true),              // the mapping network's layers, small
        new(8, 512, 512, 0.01f, true, Large: true), // the mapping network's layers
        new(2, 512, 259, 1f, false, Large: true),   // an affine (style) layer
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    private sealed record Data(double[] X, double[] W, double[]? B, double[] Dy);

    private static Data Make(FullyConnectedCase c)
    {
        var rng = TestData.Rng("fc " + c.Name);
        // Weights as StyleGAN initialises them (std 1/lr_mul), so every case sees outputs of order one.
        return new(TestData.NormalDouble(rng, c.N * c.In), TestData.NormalDouble(rng, c.Out * c.In, 1 / c.LrMul),
            c.Bias ? TestData.NormalDouble(rng, c.Out, 1 / c.LrMul) : null, TestData.NormalDouble(rng, c.N * c.Out));
    }

    private static double[] ReferenceY(FullyConnectedCase c, Data d) =>
        ReferenceCache.Get("fc y " + c.Name, () => Reference.FullyConnectedForward(d.X, d.W, d.B, c.N, c.In, c.Out, c.P));

    [Theory, MemberData(nameof(Cases))]
    public void Forward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(d.X), c.N, c.In);
        using var w = b.Upload(TestData.ToFloat(d.W), c.Out, c.In);
        using var bias = d.B is null ? null : b.Upload(TestData.ToFloat(d.B), c.Out);
        using var y = b.Sentinel(c.N, c.Out);
        b.FullyConnectedForward(x, w, bias, y, c.P);
        Accuracy.AssertClose("y", b.Download(y), ReferenceY(c, d), y.Shape);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Backward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        var yRef = ReferenceY(c, d);
        var (dxRef, dwRef, dbRef) = Reference.FullyConnectedBackward(d.X, d.W, yRef, d.Dy, c.N, c.In, c.Out, c.P);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(d.X), c.N, c.In);
        using var w = b.Upload(TestData.ToFloat(d.W), c.Out, c.In);
        using var y = b.Upload(TestData.ToFloat(yRef), c.N, c.Out);
        using var dy = b.Upload(TestData.ToFloat(d.Dy), c.N, c.Out);
        foreach (var (label, want) in GradientSubsets.Of("dx", "dWeight", "dBias"))
        {
            using var dx = b.SentinelIf(want[0], x.Shape);
            using var dw = b.SentinelIf(want[1], w.Shape);
            using var db = b.SentinelIf(want[2], new Shape(c.Out));
            b.FullyConnectedBackward(x, w, y, dy, dx, dw, db, c.P);
            if (dx is not null) Accuracy.AssertClose($"dx ({label})", b.Download(dx), dxRef, dx.Shape);
            if (dw is not null) Accuracy.AssertClose($"dWeight ({label})", b.Download(dw), dwRef, dw.Shape);
            if (db is not null) Accuracy.AssertClose($"dBias ({label})", b.Download(db), dbRef, db.Shape);
        }
    }
}
