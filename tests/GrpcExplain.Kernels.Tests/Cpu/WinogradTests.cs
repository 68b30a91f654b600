using System.Runtime.Intrinsics.X86;
using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests.Cpu;

/// <summary>
/// The CPU backend's F(2x2, 3x3) Winograd convolution against the double reference, forced onto every
/// even map (the default uses it from 16x16 on): odd tile counts and runs shorter than a vector, more
/// channels than one depth block, batches, with and without the fused epilogue, on both ISA paths.
/// </summary>
public class WinogradTests
{
    public static TheoryData<string, int, int, int, int, int> Cases()
    {
        var rows = new TheoryData<string, int, int, int, int, int>();
        (int N, int I, int O, int H, int W)[] shapes =
        [
            (1, 3, 5, 2, 2),      // one tile
            (2, 17, 19, 6, 10),   // 3x5 tiles: scalar tails, slivers across tile rows and samples
            (1, 8, 9, 16, 16),    // 8x8 tiles: whole vectors
            (1, 400, 12, 4, 6),   // depth past one KC block
            (3, 5, 70, 12, 34),   // many output channels, 17-tile rows
            (1, 64, 64, 16, 16),  // a synthesis layer's shape
        ];
        foreach (var isa in Isas())
            foreach (var (n, i, o, h, w) in shapes)
                rows.Add(isa, n, i, o, h, w);
        return rows;
    }

    private static IEnumerable<string> Isas() => Avx512F.IsSupported ? ["Avx512", "Vector256"] : ["Vector256"];

    private static CpuBackend Backend(string isa) => new(new CpuBackendOptions { Isa = Enum.Parse<CpuIsa>(isa), WinogradMinPixels = 0 });

    [Theory, MemberData(nameof(Cases))]
    public void ConvolutionMatchesReference(string isa, int n, int ci, int co, int h, int w)
    {
        using var cpu = Backend(isa);
        var rng = TestData.Rng($"winograd conv {n} {ci} {co} {h} {w}");
        Shape xs = new(n, ci, h, w), ws = new(co, ci, 3, 3), ys = new(n, co, h, w);
        float[] x = TestData.Normal(rng, xs.Length), wt = TestData.Normal(rng, ws.Length);
        var p = new Conv2dParams(Padding: 1, WeightGain: 0.37f);
        using var xd = cpu.Upload(x, xs);
        using var wd = cpu.Upload(wt, ws);
        using var y = cpu.Allocate(ys);
        cpu.Conv2dForward(xd, wd, y, p);
        Accuracy.AssertClose("y", cpu.Download(y), Reference.Conv2dForward(TestData.ToDouble(x), xs, TestData.ToDouble(wt), ws, p), ys);
    }

    [Theory, MemberData(nameof(Cases))]
    public void ModulatedConvolutionWithEpilogueMatchesReference(string isa, int n, int ci, int co, int h, int w)
    {
        using var cpu = Backend(isa);
        var rng = TestData.Rng($"winograd modconv {n} {ci} {co} {h} {w}");
        Shape xs = new(n, ci, h, w), ws = new(co, ci, 3, 3), ss = new(n, ci), ys = new(n, co, h, w), noiseShape = new(1, 1, h, w);
        float[] x = TestData.Normal(rng, xs.Length), wt = TestData.Normal(rng, ws.Length), s = TestData.Normal(rng, ss.Length, mean: 1);
        float[] bias = TestData.Normal(rng, co), noise = TestData.Normal(rng, noiseShape.Length);
        var p = new ModulatedConv2dParams();
        var act = BiasActivateParams.LeakyRelu(clamp: 1.5f);
        using var xd = cpu.Upload(x, xs);
        using var wd = cpu.Upload(wt, ws);
        using var sd = cpu.Upload(s, ss);
        using var bd = cpu.Upload(bias, new Shape(co));
        using var nd = cpu.Upload(noise, noiseShape);
        using var strength = cpu.Upload([0.3f], new Shape(1));
        using var y = cpu.Allocate(ys);
        cpu.ModulatedConv2dForward(xd, wd, sd, y, p, new ConvEpilogue(bd, nd, strength, act));
        var conv = Reference.ModulatedConv2dForward(TestData.ToDouble(x), xs, TestData.ToDouble(wt), ws, TestData.ToDouble(s), p);
        var expected = Reference.BiasActivateForward(conv, ys, TestData.ToDouble(bias), TestData.ToDouble(noise), 1, 0.3, act);
        Accuracy.AssertClose("y", cpu.Download(y), expected, ys);
    }
}
