using GrpcExplain.Kernels.Tests.Support;
using static GrpcExplain.Kernels.Tests.Support.FiniteDifference;

namespace GrpcExplain.Kernels.Tests.Gradients;

/// <summary>The reference normalize_2nd_moment backward against central finite differences.</summary>
public sealed class Normalize2ndMomentGradientTests
{
    [Theory]
    [InlineData(1, 3, 1.0)]
    [InlineData(3, 5, 1.0)]
    [InlineData(2, 16, 0.1)]
    [InlineData(2, 7, 10.0)]
    public void ReferenceGradientMatchesFiniteDifferences(int batch, int features, double scale)
    {
        var rng = TestData.Rng($"norm fd {batch} {features} {scale}");
        var x = TestData.NormalDouble(rng, batch * features, scale);
        var r = TestData.NormalDouble(rng, batch * features);
        var dx = Reference.Normalize2ndMomentBackward(x, r, batch, features);
        // The step scales with the data so the relative perturbation stays the same.
        Accuracy.AssertClose("dx", dx, Gradient(x, () => Dot(Reference.Normalize2ndMomentForward(x, batch, features), r), Step * scale),
            new Shape(batch, features), Accuracy.GradientTolerance);
    }
}
