using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

public class GanLossTests
{
    [Theory]
    [InlineData(0.0, 0.6931471805599453)]
    [InlineData(2.0, 2.1269280110429727)]
    [InlineData(-3.0, 0.04858735157374206)]
    [InlineData(800.0, 800.0)]
    [InlineData(-800.0, 0.0)]
    public void SoftplusIsLogOnePlusExpWithoutOverflow(double x, double expected) => Assert.Equal(expected, GanLoss.Softplus(x), 1e-12);

    /// <summary>Each term is a batch mean, and its gradient is that of the mean (central differences in double).</summary>
    [Fact]
    public void LossesAreBatchMeansWithTheirGradients()
    {
        float[] logits = [-2.5f, -0.3f, 0f, 0.8f, 4f];
        foreach (var (term, sign) in new (Func<float[], LogitLoss>, int)[] { (GanLoss.Generator, -1), (GanLoss.DiscriminatorFake, 1), (GanLoss.DiscriminatorReal, -1) })
        {
            var loss = term(logits);
            Assert.Equal(logits.Average(l => GanLoss.Softplus(sign * (double)l)), loss.Loss, 1e-12);
            for (int i = 0; i < logits.Length; i++)
            {
                const double h = 1e-4;
                double Mean(double li) => logits.Select((l, j) => GanLoss.Softplus(sign * (j == i ? li : l))).Average();
                double numeric = (Mean(logits[i] + h) - Mean(logits[i] - h)) / (2 * h);
                Assert.Equal(numeric, loss.Gradient[i], 1e-6);
            }
        }
    }
}
