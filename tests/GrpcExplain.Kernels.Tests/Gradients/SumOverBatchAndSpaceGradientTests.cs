using GrpcExplain.Kernels.Tests.Support;
using static GrpcExplain.Kernels.Tests.Support.FiniteDifference;

namespace GrpcExplain.Kernels.Tests.Gradients;

/// <summary>The reference reduction's backward (a broadcast) against central finite differences.</summary>
public sealed class SumOverBatchAndSpaceGradientTests
{
    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(2, 3, 2, 3)]
    public void ReferenceGradientMatchesFiniteDifferences(int n, int c, int h, int w)
    {
        var shape = new Shape(n, c, h, w);
        var rng = TestData.Rng($"sum fd {shape}");
        var x = TestData.NormalDouble(rng, shape.Length);
        var r = TestData.NormalDouble(rng, c);
        Check("dx", Reference.SumOverBatchAndSpaceBackward(r, shape), x, () => Dot(Reference.SumOverBatchAndSpaceForward(x, shape), r), shape);
    }
}
