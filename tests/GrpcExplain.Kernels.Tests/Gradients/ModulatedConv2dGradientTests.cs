using GrpcExplain.Kernels.Tests.Support;
using static GrpcExplain.Kernels.Tests.Support.FiniteDifference;

namespace GrpcExplain.Kernels.Tests.Gradients;

/// <summary>The reference modulated-convolution backward (through modulation, demodulation and the up path) against finite differences.</summary>
public sealed class ModulatedConv2dGradientTests
{
    [Theory]
    [InlineData(3, true, false)]
    [InlineData(3, false, false)]
    [InlineData(1, true, false)]
    [InlineData(1, false, false)]
    [InlineData(3, true, true)]
    [InlineData(3, false, true)]
    public void ReferenceGradientsMatchFiniteDifferences(int k, bool demodulate, bool up)
    {
        var p = new ModulatedConv2dParams(demodulate, up);
        Shape xs = new(2, 3, 3, 4), ws = new(4, 3, k, k), ss = new(2, 3);
        var rng = TestData.Rng($"modconv fd {k} {demodulate} {up}");
        var x = TestData.NormalDouble(rng, xs.Length);
        var w = TestData.NormalDouble(rng, ws.Length);
        var s = TestData.NormalDouble(rng, ss.Length);
        var r = TestData.NormalDouble(rng, p.OutputShape(xs, ws).Length);
        double Loss() => Dot(Reference.ModulatedConv2dForward(x, xs, w, ws, s, p), r);
        var (dx, dw, ds) = Reference.ModulatedConv2dBackward(x, xs, w, ws, s, r, p);
        Check("dx", dx, x, Loss, xs);
        Check("dWeight", dw, w, Loss, ws);
        Check("dStyles", ds, s, Loss, ss);
    }
}
