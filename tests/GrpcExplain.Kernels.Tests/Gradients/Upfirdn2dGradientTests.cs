using GrpcExplain.Kernels.Tests.Support;
using static GrpcExplain.Kernels.Tests.Support.FiniteDifference;

namespace GrpcExplain.Kernels.Tests.Gradients;

/// <summary>The reference upfirdn2d backward against central finite differences, for every kind of case the backends run.</summary>
public sealed class Upfirdn2dGradientTests
{
    [Theory]
    [InlineData("upsample2x", 1, 2, 3, 3)]
    [InlineData("upsample2x", 1, 1, 1, 1)]
    [InlineData("downsample2x", 2, 1, 5, 5)]
    [InlineData("pad2", 1, 2, 4, 4)]
    [InlineData("modconv_up", 1, 2, 5, 5)]
    [InlineData("negpad", 1, 2, 6, 5)]
    [InlineData("up2_down2", 1, 2, 3, 4)]
    [InlineData("up3_asym", 1, 2, 2, 3)]
    [InlineData("down3_asym", 1, 2, 7, 8)]
    [InlineData("asym_negpad", 2, 1, 4, 5)]
    public void ReferenceGradientMatchesFiniteDifferences(string kind, int n, int c, int h, int w)
    {
        var p = Upfirdn2dCase.Params(kind);
        var shape = new Shape(n, c, h, w);
        var rng = TestData.Rng($"upfirdn fd {kind} {shape}");
        var x = TestData.NormalDouble(rng, shape.Length);
        var r = TestData.NormalDouble(rng, p.OutputShape(shape).Length);
        Check("dx", Reference.Upfirdn2dBackward(r, shape, p), x, () => Dot(Reference.Upfirdn2dForward(x, shape, p), r), shape);
    }
}
