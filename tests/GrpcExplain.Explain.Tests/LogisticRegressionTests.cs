using GrpcExplain.Explain.Directions;

namespace GrpcExplain.Explain.Tests;

public class LogisticRegressionTests
{
    /// <summary>Samples x ~ N(0, diag(scales²)) with labels drawn from σ(b + w·x): noisy, so the optimum is interior.</summary>
    private static (float[] X, bool[] Y) Noisy(int n, double[] w, double b, double[] scales, int seed)
    {
        var rng = new Random(seed);
        int d = w.Length;
        var x = new float[n * d];
        var y = new bool[n];
        for (int i = 0; i < n; i++)
        {
            double eta = b;
            for (int j = 0; j < d; j++)
            {
                x[i * d + j] = (float)(scales[j] * (Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())) + 0.3 * j);
                eta += w[j] * x[i * d + j];
            }
            y[i] = rng.NextDouble() < 1 / (1 + Math.Exp(-eta));
        }
        return (x, y);
    }

    /// <summary>
    /// The optimality condition, computed here independently of the solver: at the minimiser of
    /// Σ log-loss + λ/2 ‖β‖² on standardised features the gradient vanishes, Σ (p − y) x̃ⱼ + λ βⱼ = 0 and
    /// Σ (p − y) = 0. The objective is strictly convex, so this pins down the one solution.
    /// </summary>
    [Theory]
    [InlineData(400, 1.0, 1)]
    [InlineData(400, 0.01, 2)]
    [InlineData(60, 10.0, 3)]
    public void TheFitSatisfiesThePenalisedOptimalityConditions(int n, double l2, int seed)
    {
        double[] w = [1.5, -0.7, 0.0, 3.0, 0.2], scales = [1, 10, 0.1, 0.5, 2];
        var (x, y) = Noisy(n, w, 0.4, scales, seed);
        int d = w.Length;
        var model = LogisticRegression.Fit(x, n, d, y, l2);

        var mean = Enumerable.Range(0, d).Select(j => Enumerable.Range(0, n).Average(i => (double)x[i * d + j])).ToArray();
        var sd = Enumerable.Range(0, d).Select(j => Math.Sqrt(Enumerable.Range(0, n).Average(i => Math.Pow(x[i * d + j] - mean[j], 2)))).ToArray();
        var gradient = new double[d];
        double interceptGradient = 0;
        for (int i = 0; i < n; i++)
        {
            double p = 1 / (1 + Math.Exp(-model.Decision(x.AsSpan(i * d, d)))), r = p - (y[i] ? 1 : 0);
            interceptGradient += r;
            for (int j = 0; j < d; j++) gradient[j] += r * (x[i * d + j] - mean[j]) / sd[j];
        }
        for (int j = 0; j < d; j++)
        {
            Assert.Equal(model.StandardizedWeights[j], model.Weights[j] * sd[j], 6);
            Assert.True(Math.Abs(gradient[j] + l2 * model.StandardizedWeights[j]) < 1e-6, $"∂/∂β{j} = {gradient[j] + l2 * model.StandardizedWeights[j]}");
        }
        Assert.True(Math.Abs(interceptGradient) < 1e-6, $"∂/∂b = {interceptGradient}");
    }

    /// <summary>
    /// One feature, x = ±1 (already standardised), a positives and b negatives at x = 1 and the mirror
    /// image at x = −1: by symmetry b = 0, and with a vanishing penalty the fit is the log odds, β = ln(a/b).
    /// </summary>
    [Theory]
    [InlineData(30, 10)]
    [InlineData(7, 21)]
    public void ASymmetricOneFeatureCaseHasTheLogOddsAsItsWeight(int a, int b)
    {
        var x = new List<float>();
        var y = new List<bool>();
        void Add(float value, bool label, int count)
        {
            for (int i = 0; i < count; i++) x.Add(value);
            for (int i = 0; i < count; i++) y.Add(label);
        }
        Add(1, true, a);
        Add(1, false, b);
        Add(-1, true, b);
        Add(-1, false, a);
        var model = LogisticRegression.Fit(x.ToArray(), x.Count, 1, y, l2: 1e-9);
        Assert.Equal(Math.Log((double)a / b), model.Weights[0], 6);
        Assert.Equal(0, model.Intercept, 6);
    }

    [Fact]
    public void SeparableDataGetsAFiniteBoundaryThatSeparatesIt()
    {
        // Labels by the sign of 2x₀ − x₁ with a margin: without a penalty the weights would diverge.
        var rng = new Random(5);
        var x = new List<float>();
        var y = new List<bool>();
        while (y.Count < 200)
        {
            float a = (float)(rng.NextDouble() * 4 - 2), b = (float)(rng.NextDouble() * 4 - 2), s = 2 * a - b;
            if (Math.Abs(s) < 0.3) continue;
            x.AddRange([a, b]);
            y.Add(s > 0);
        }
        var model = LogisticRegression.Fit(x.ToArray(), 200, 2, y, l2: 0.1);
        Assert.All(model.Weights, v => Assert.True(double.IsFinite(v)));
        for (int i = 0; i < 200; i++) Assert.Equal(y[i], model.Decision(x.ToArray().AsSpan(2 * i, 2)) > 0);
        double norm = Math.Sqrt(model.Weights.Sum(v => v * v));
        Assert.True(model.Weights[0] / norm > 0.85 && model.Weights[1] / norm < -0.35, $"normal ({model.Weights[0] / norm}, {model.Weights[1] / norm}) should be near (2, −1)/√5");
    }

    [Fact]
    public void AConstantFeatureGetsNoWeight()
    {
        double[] w = [2, 0];
        var (x, y) = Noisy(100, w, 0, [1, 1], 9);
        for (int i = 0; i < 100; i++) x[i * 2 + 1] = 3;
        var model = LogisticRegression.Fit(x, 100, 2, y);
        Assert.Equal(0, model.Weights[1]);
    }
}
