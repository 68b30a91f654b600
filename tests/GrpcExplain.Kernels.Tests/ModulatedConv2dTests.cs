using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

public sealed record ModulatedConv2dCase(int N, int I, int O, int H, int W, int K, bool Demodulate, bool Up, bool Large = false) : IOpCase
{
    public string Name => $"N{N}_I{I}_O{O}_{H}x{W}_k{K}{(Up ? "_up" : "")}{(Demodulate ? "_demod" : "_nodemod")}";
    public ModulatedConv2dParams P => new(Demodulate, Up);
    public Shape XShape => new(N, I, H, W);
    public Shape WShape => new(O, I, K, K);
    public Shape SShape => new(N, I);
    public Shape YShape => P.OutputShape(XShape, WShape);
}

/// <summary>Modulated convolution (all four variants) forward and backward on every backend against the reference.</summary>
public sealed class ModulatedConv2dTests(BackendPool pool)
{
    public static IReadOnlyList<ModulatedConv2dCase> All { get; } =
    [
        new(2, 3, 5, 4, 4, 3, true, false),      // the synthesis 3x3 conv at the first block's resolution
        new(2, 17, 19, 8, 8, 3, true, false),
        new(1, 5, 3, 5, 7, 3, true, false),
        new(2, 3, 5, 1, 1, 3, true, false),      // 1x1 map
        new(2, 5, 3, 6, 6, 3, false, false),
        new(2, 5, 3, 4, 4, 3, true, true),       // the synthesis 3x3 conv with 2x upsampling
        new(1, 3, 5, 5, 7, 3, true, true),
        new(1, 3, 5, 1, 1, 3, true, true),
        new(2, 3, 5, 4, 4, 3, false, true),
        new(2, 17, 3, 8, 8, 1, false, false),    // ToRGB
        new(2, 5, 19, 6, 6, 1, true, false),
        new(2, 19, 17, 64, 64, 3, true, false, Large: true),
        new(2, 17, 19, 32, 32, 3, true, true, Large: true),
        new(2, 32, 3, 64, 64, 1, false, false, Large: true),
        new(1, 64, 64, 16, 16, 3, true, false, Large: true),
        new(1, 64, 32, 16, 16, 3, true, true, Large: true),
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    private sealed record Data(double[] X, double[] W, double[] S, double[] Dy);

    private static Data Make(ModulatedConv2dCase c)
    {
        var rng = TestData.Rng("modconv " + c.Name);
        return new(TestData.NormalDouble(rng, c.XShape.Length), TestData.NormalDouble(rng, c.WShape.Length),
            TestData.NormalDouble(rng, c.SShape.Length), TestData.NormalDouble(rng, c.YShape.Length));
    }

    private static double[] ReferenceY(ModulatedConv2dCase c, Data d) =>
        ReferenceCache.Get("modconv y " + c.Name, () => Reference.ModulatedConv2dForward(d.X, c.XShape, d.W, c.WShape, d.S, c.P));

    [Theory, MemberData(nameof(Cases))]
    public void Forward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(d.X), c.XShape);
        using var w = b.Upload(TestData.ToFloat(d.W), c.WShape);
        using var s = b.Upload(TestData.ToFloat(d.S), c.SShape);
        using var y = b.Sentinel(c.YShape);
        b.ModulatedConv2dForward(x, w, s, y, c.P);
        Accuracy.AssertClose("y", b.Download(y), ReferenceY(c, d), y.Shape);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Backward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        var yRef = ReferenceY(c, d);
        var (dxRef, dwRef, dsRef) = ReferenceCache.Get("modconv grads " + c.Name, () => Reference.ModulatedConv2dBackward(d.X, c.XShape, d.W, c.WShape, d.S, d.Dy, c.P));
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(d.X), c.XShape);
        using var w = b.Upload(TestData.ToFloat(d.W), c.WShape);
        using var s = b.Upload(TestData.ToFloat(d.S), c.SShape);
        using var y = b.Upload(TestData.ToFloat(yRef), c.YShape);
        using var dy = b.Upload(TestData.ToFloat(d.Dy), c.YShape);
        foreach (var (label, want) in GradientSubsets.Of("dx", "dWeight", "dStyles"))
        {
            using var dx = b.SentinelIf(want[0], c.XShape);
            using var dw = b.SentinelIf(want[1], c.WShape);
            using var ds = b.SentinelIf(want[2], c.SShape);
            b.ModulatedConv2dBackward(x, w, s, y, dy, dx, dw, ds, c.P);
            if (dx is not null) Accuracy.AssertClose($"dx ({label})", b.Download(dx), dxRef, dx.Shape);
            if (dw is not null) Accuracy.AssertClose($"dWeight ({label})", b.Download(dw), dwRef, dw.Shape);
            if (ds is not null) Accuracy.AssertClose($"dStyles ({label})", b.Download(ds), dsRef, ds.Shape);
        }
    }

    /// <summary>
    /// The fused epilogue (the synthesis layers' inference path) equals the convolution followed by the
    /// reference bias_act: bias, per-sample or shared noise with its strength, leaky ReLU with gain, and a
    /// clamp that about half the outputs reach.
    /// </summary>
    [Theory, MemberData(nameof(Cases))]
    public void ForwardWithEpilogue(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        var rng = TestData.Rng("modconv epilogue " + c.Name);
        int noiseBatch = c.N > 1 && c.H % 2 == 0 ? c.N : 1;
        var (_, outC, oh, ow) = c.YShape.Nchw;
        var noiseShape = new Shape(noiseBatch, 1, oh, ow);
        double[] bias = TestData.NormalDouble(rng, outC), noise = TestData.NormalDouble(rng, noiseShape.Length), strength = TestData.NormalDouble(rng, 1);
        var p = c.K == 1 ? BiasActivateParams.Linear(clamp: 1f) : BiasActivateParams.LeakyRelu(clamp: 1f);
        var want = Reference.BiasActivateForward(ReferenceY(c, d), c.YShape, bias, noise, noiseBatch, strength[0], p);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(d.X), c.XShape);
        using var w = b.Upload(TestData.ToFloat(d.W), c.WShape);
        using var s = b.Upload(TestData.ToFloat(d.S), c.SShape);
        using var bs = b.Upload(TestData.ToFloat(bias), new Shape(outC));
        using var nz = b.Upload(TestData.ToFloat(noise), noiseShape);
        using var st = b.Upload(TestData.ToFloat(strength), new Shape(1));
        using var y = b.Sentinel(c.YShape);
        b.ModulatedConv2dForward(x, w, s, y, c.P, new ConvEpilogue(bs, nz, st, p));
        Accuracy.AssertClose("y", b.Download(y), want, y.Shape);
    }
}
