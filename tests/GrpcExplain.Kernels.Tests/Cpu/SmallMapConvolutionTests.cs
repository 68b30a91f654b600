using System.Runtime.Intrinsics.X86;
using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests.Cpu;

/// <summary>
/// The CPU backend's small-map convolution paths against the double reference, on both ISA paths: the
/// dense packing of a shifted input (only a grid's real points as GEMM columns, in runs of 4, 8, 5 or 7)
/// and the half-width micro-kernel that takes a last sliver of at most 16 columns. Depth past one KC
/// block (the half kernel accumulating), more output channels than one sliver, and batches whose columns
/// run across samples; the transposed convolution (its data gradient and the 2x-up modulated one) too.
/// </summary>
public class SmallMapConvolutionTests
{
    public static TheoryData<string, int, int, int, int, int> Cases()
    {
        var rows = new TheoryData<string, int, int, int, int, int>();
        (int N, int I, int O, int H, int W)[] shapes =
        [
            (1, 50, 21, 4, 4),   // 16 columns: one half sliver, depth 450 past one KC block
            (2, 50, 21, 4, 4),   // 32 columns across two samples
            (1, 7, 19, 8, 8),    // 8x8: runs of 8, two whole slivers
            (3, 9, 11, 5, 7),    // odd runs across samples, a 9-column tail
            (1, 300, 10, 2, 2),  // 4 columns, depth 2700
        ];
        foreach (var isa in Avx512F.IsSupported ? new[] { "Avx512", "Vector256" } : ["Vector256"])
            foreach (var (n, i, o, h, w) in shapes)
                rows.Add(isa, n, i, o, h, w);
        return rows;
    }

    private static CpuBackend Backend(string isa) => new(new CpuBackendOptions { Isa = Enum.Parse<CpuIsa>(isa) });

    [Theory, MemberData(nameof(Cases))]
    public void ConvolutionAndDataGradientMatchReference(string isa, int n, int ci, int co, int h, int w)
    {
        using var cpu = Backend(isa);
        var rng = TestData.Rng($"small map conv {n} {ci} {co} {h} {w}");
        Shape xs = new(n, ci, h, w), ws = new(co, ci, 3, 3), ys = new(n, co, h, w);
        float[] x = TestData.Normal(rng, xs.Length), wt = TestData.Normal(rng, ws.Length), dy = TestData.Normal(rng, ys.Length);
        var p = new Conv2dParams(Padding: 1, WeightGain: 0.37f);
        using var xd = cpu.Upload(x, xs);
        using var wd = cpu.Upload(wt, ws);
        using var dyd = cpu.Upload(dy, ys);
        using var y = cpu.Allocate(ys);
        using var dx = cpu.Allocate(xs);
        cpu.Conv2dForward(xd, wd, y, p);
        cpu.Conv2dBackward(xd, wd, dyd, dx, null, p);
        Accuracy.AssertClose("y", cpu.Download(y), Reference.Conv2dForward(TestData.ToDouble(x), xs, TestData.ToDouble(wt), ws, p), ys);
        var (expectedDx, _) = Reference.Conv2dBackward(TestData.ToDouble(x), xs, TestData.ToDouble(wt), ws, TestData.ToDouble(dy), p);
        Accuracy.AssertClose("dx", cpu.Download(dx), expectedDx, xs);
    }

    [Theory, MemberData(nameof(Cases))]
    public void UpsamplingModulatedConvolutionMatchesReference(string isa, int n, int ci, int co, int h, int w)
    {
        using var cpu = Backend(isa);
        var rng = TestData.Rng($"small map up conv {n} {ci} {co} {h} {w}");
        var p = new ModulatedConv2dParams(Demodulate: true, Up: true);
        Shape xs = new(n, ci, h, w), ws = new(co, ci, 3, 3), ss = new(n, ci), ys = new(n, co, 2 * h, 2 * w);
        float[] x = TestData.Normal(rng, xs.Length), wt = TestData.Normal(rng, ws.Length), s = TestData.Normal(rng, ss.Length, mean: 1);
        using var xd = cpu.Upload(x, xs);
        using var wd = cpu.Upload(wt, ws);
        using var sd = cpu.Upload(s, ss);
        using var y = cpu.Allocate(ys);
        cpu.ModulatedConv2dForward(xd, wd, sd, y, p);
        var expected = Reference.ModulatedConv2dForward(TestData.ToDouble(x), xs, TestData.ToDouble(wt), ws, TestData.ToDouble(s), p);
        Accuracy.AssertClose("y", cpu.Download(y), expected, ys);
    }
}
