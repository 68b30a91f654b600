using GrpcExplain.Kernels.Tests.Support;
using static GrpcExplain.Kernels.Tests.Support.FiniteDifference;

namespace GrpcExplain.Kernels.Tests.Gradients;

/// <summary>The reference FullyConnected backward against central finite differences of L = Σ y·r.</summary>
public sealed class FullyConnectedGradientTests
{
    [Theory]
    [InlineData(1, 4, 3, 1.0, false, true)]
    [InlineData(3, 5, 4, 1.0, true, true)]
    [InlineData(2, 6, 5, 0.01, true, true)]
    [InlineData(2, 3, 2, 0.01, false, false)]
    [InlineData(2, 4, 3, 1.0, true, false)]
    public void ReferenceGradientsMatchFiniteDifferences(int batch, int inF, int outF, double lrMul, bool lrelu, bool hasBias)
    {
        var p = new FullyConnectedParams((float)lrMul, lrelu);
        var rng = TestData.Rng($"fc fd {batch} {inF} {outF} {lrMul} {lrelu} {hasBias}");
        var x = TestData.NormalDouble(rng, batch * inF);
        var w = TestData.NormalDouble(rng, outF * inF, 1 / lrMul);
        // Without a bias the gradient is still checked, with respect to a bias of zeros.
        var b = hasBias ? TestData.NormalDouble(rng, outF, 1 / lrMul) : new double[outF];
        var r = TestData.NormalDouble(rng, batch * outF);
        if (lrelu)
            AssertAwayFromKinks("z", Reference.FullyConnectedForward(x, w, b, batch, inF, outF, p with { LeakyRelu = false }), 0);

        double Loss() => Dot(Reference.FullyConnectedForward(x, w, hasBias ? b : null, batch, inF, outF, p), r);
        double LossWithBias() => Dot(Reference.FullyConnectedForward(x, w, b, batch, inF, outF, p), r);
        var y = Reference.FullyConnectedForward(x, w, hasBias ? b : null, batch, inF, outF, p);
        var (dx, dw, db) = Reference.FullyConnectedBackward(x, w, y, r, batch, inF, outF, p);

        Check("dx", dx, x, Loss, new Shape(batch, inF));
        Check("dWeight", dw, w, Loss, new Shape(outF, inF));
        Check("dBias", db, b, LossWithBias, new Shape(outF));
    }
}
