using GrpcExplain.Kernels.Tests.Support;
using static GrpcExplain.Kernels.Tests.Support.FiniteDifference;

namespace GrpcExplain.Kernels.Tests.Gradients;

/// <summary>The reference plain-convolution backward against central finite differences.</summary>
public sealed class Conv2dGradientTests
{
    [Theory]
    [InlineData(1, 2, 3, 4, 4, 3, 1, 1)]
    [InlineData(2, 2, 2, 5, 5, 3, 2, 1)]
    [InlineData(1, 2, 2, 5, 6, 3, 2, 0)]
    [InlineData(1, 3, 2, 4, 5, 1, 1, 0)]
    [InlineData(2, 2, 3, 5, 5, 1, 2, 0)]
    [InlineData(1, 2, 2, 1, 1, 3, 1, 1)]
    [InlineData(1, 1, 2, 4, 3, 3, 1, 2)]
    public void ReferenceGradientsMatchFiniteDifferences(int n, int i, int o, int h, int w, int k, int stride, int padding)
    {
        var p = new Conv2dParams(stride, padding, Conv2dParams.EqualizedGain(i, k));
        Shape xs = new(n, i, h, w), ws = new(o, i, k, k);
        var rng = TestData.Rng($"conv fd {xs} {ws} {stride} {padding}");
        var x = TestData.NormalDouble(rng, xs.Length);
        var wt = TestData.NormalDouble(rng, ws.Length);
        var r = TestData.NormalDouble(rng, n * o * p.OutSize(h, k) * p.OutSize(w, k));
        double Loss() => Dot(Reference.Conv2dForward(x, xs, wt, ws, p), r);
        var (dx, dw) = Reference.Conv2dBackward(x, xs, wt, ws, r, p);
        Check("dx", dx, x, Loss, xs);
        Check("dWeight", dw, wt, Loss, ws);
    }
}
