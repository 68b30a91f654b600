using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests.Cpu;

/// <summary>
/// The CPU backend keeps weights packed for its GEMMs (and their squared norms) between calls; a
/// weight written again, by Upload or as an op's output, must never be served from the stale copy.
/// </summary>
public class DerivedWeightCacheTests
{
    private static readonly Shape X = new(2, 6, 5, 5), W = new(7, 6, 3, 3), S = new(2, 6);

    [Fact]
    public void ModulatedConvolutionSeesWeightsUploadedOverTheOldOnes()
    {
        using var cpu = new CpuBackend();
        var rng = TestData.Rng(nameof(ModulatedConvolutionSeesWeightsUploadedOverTheOldOnes));
        float[] x = TestData.Normal(rng, X.Length), s = TestData.Normal(rng, S.Length, mean: 1), w1 = TestData.Normal(rng, W.Length), w2 = TestData.Normal(rng, W.Length);
        using var xt = cpu.Upload(x, X);
        using var st = cpu.Upload(s, S);
        using var wt = cpu.Upload(w1, W);
        foreach (var up in new[] { false, true })
        {
            var p = new ModulatedConv2dParams(Up: up);
            using var y = cpu.Allocate(p.OutputShape(X, W));
            cpu.ModulatedConv2dForward(xt, wt, st, y, p);
            cpu.Upload(w2, wt);
            cpu.ModulatedConv2dForward(xt, wt, st, y, p);
            Accuracy.AssertClose($"forward (up={up}) after re-upload", cpu.Download(y),
                Reference.ModulatedConv2dForward(TestData.ToDouble(x), X, TestData.ToDouble(w2), W, TestData.ToDouble(s), p));
            cpu.Upload(w1, wt);
        }
    }

    [Fact]
    public void ConvolutionSeesWeightsWrittenAsAnOpOutput()
    {
        using var cpu = new CpuBackend();
        var rng = TestData.Rng(nameof(ConvolutionSeesWeightsWrittenAsAnOpOutput));
        var p = new Conv2dParams(Padding: 1);
        var yShape = new Shape(2, 7, 5, 5);
        float[] x = TestData.Normal(rng, X.Length), w = TestData.Normal(rng, W.Length), dy = TestData.Normal(rng, yShape.Length);
        using var xt = cpu.Upload(x, X);
        using var wt = cpu.Upload(w, W);
        using var dyt = cpu.Upload(dy, yShape);
        using var y = cpu.Allocate(yShape);
        using var dx = cpu.Allocate(X);
        cpu.Conv2dForward(xt, wt, y, p);
        cpu.Conv2dBackward(xt, wt, dyt, dx, null, p);
        // The weight tensor is now rewritten in place by an op (a leaky ReLU with a bias over its second axis).
        using var bias = cpu.Upload(TestData.Normal(rng, 6), new Shape(6));
        cpu.BiasActivateForward(wt, bias, null, null, wt, BiasActivateParams.LeakyRelu());
        var newW = cpu.Download(wt);
        cpu.Conv2dForward(xt, wt, y, p);
        cpu.Conv2dBackward(xt, wt, dyt, dx, null, p);
        var (dxRef, _) = Reference.Conv2dBackward(TestData.ToDouble(x), X, TestData.ToDouble(newW), W, TestData.ToDouble(dy), p);
        Accuracy.AssertClose("forward after the weight was overwritten", cpu.Download(y),
            Reference.Conv2dForward(TestData.ToDouble(x), X, TestData.ToDouble(newW), W, p));
        Accuracy.AssertClose("backward-data after the weight was overwritten", cpu.Download(dx), dxRef);
    }
}
