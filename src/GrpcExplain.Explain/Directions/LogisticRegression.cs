namespace GrpcExplain.Explain.Directions;

/// <summary>
/// A fitted L2-regularised logistic regression: P(positive | x) = σ(b + w·x), with w and b in the
/// original feature units. The regression itself was fitted on standardised features (what
/// <see cref="StandardizedWeights"/> holds), so that one penalty treats every feature alike.
/// </summary>
public sealed record LogisticModel(double[] Weights, double Intercept, double[] StandardizedWeights, double[] Mean, double[] Scale, int Iterations)
{
    /// <summary>The logit b + w·x; positive means the positive class is the more probable.</summary>
    public double Decision(ReadOnlySpan<float> x)
    {
        if (x.Length != Weights.Length) throw new ArgumentException($"{x.Length} features for a model of {Weights.Length}.", nameof(x));
        double eta = Intercept;
        for (int j = 0; j < x.Length; j++) eta += Weights[j] * x[j];
        return eta;
    }
}

/// <summary>
/// Logistic regression with an L2 penalty on the weights (not the intercept), by Newton's method
/// (iteratively reweighted least squares) with a backtracking line search, on features standardised
/// to zero mean and unit variance. It minimises
/// <c>Σᵢ [log(1 + e^ηᵢ) − yᵢ ηᵢ] + λ/2 ‖β‖²</c>, ηᵢ = b + β·x̃ᵢ,
/// which is strictly convex for λ &gt; 0, so the minimiser is unique even for separable data.
/// Newton's (d+1)² Hessian suits the latent sizes here (w_dim up to 512, a few thousand samples).
/// </summary>
public static class LogisticRegression
{
    /// <param name="features">Row-major [count, dimension].</param>
    /// <param name="l2">λ, in units of one sample's log-loss per squared standardised weight.</param>
    public static LogisticModel Fit(ReadOnlySpan<float> features, int count, int dimension, IReadOnlyList<bool> labels, double l2 = 1.0,
        int maxIterations = 100, double tolerance = 1e-10)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (count < 2 || dimension < 1 || features.Length != (long)count * dimension || labels.Count != count)
            throw new ArgumentException($"{features.Length} features and {labels.Count} labels do not make {count} samples of {dimension}.");
        if (!(l2 > 0) || !double.IsFinite(l2)) throw new ArgumentOutOfRangeException(nameof(l2), l2, "The L2 penalty must be positive and finite.");

        var (x, mean, scale) = Standardize(features, count, dimension);
        double[] y = [.. labels.Select(l => l ? 1.0 : 0.0)];
        int p = dimension + 1; // the intercept is the last parameter
        var theta = new double[p];
        var eta = new double[count];
        double objective = Objective(x, y, theta, l2, eta);
        int iteration = 0;
        while (iteration < maxIterations)
        {
            iteration++;
            var (gradient, hessian) = GradientAndHessian(x, y, theta, l2, eta);
            var step = Cholesky.Solve(hessian, p, gradient);
            // Backtracking: full Newton steps converge quadratically near the optimum; far from it
            // (nearly separable data) they may overshoot, and halving keeps each step a descent.
            double t = 1, decrease = Dot(gradient, step), next;
            var candidate = new double[p];
            while (true)
            {
                for (int k = 0; k < p; k++) candidate[k] = theta[k] - t * step[k];
                next = Objective(x, y, candidate, l2, eta);
                if (next <= objective - 1e-4 * t * decrease || t < 1e-10) break;
                t /= 2;
            }
            Array.Copy(candidate, theta, p);
            // eta holds the accepted candidate's linear predictors, as the next gradient needs.
            double change = objective - next;
            objective = next;
            if (t * step.Max(Math.Abs) < tolerance || change <= tolerance * Math.Max(1, Math.Abs(objective))) break;
        }

        var standardized = theta[..dimension];
        var weights = new double[dimension];
        double intercept = theta[dimension];
        for (int j = 0; j < dimension; j++)
        {
            weights[j] = standardized[j] / scale[j];
            intercept -= weights[j] * mean[j];
        }
        return new LogisticModel(weights, intercept, standardized, mean, scale, iteration);
    }

    /// <summary>The penalised objective at θ; leaves the linear predictors η in <paramref name="eta"/>.</summary>
    internal static double Objective(double[,] x, double[] y, double[] theta, double l2, double[] eta)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double e = theta[d];
            for (int j = 0; j < d; j++) e += x[i, j] * theta[j];
            eta[i] = e;
            // log(1 + e^η) without overflow.
            sum += Math.Max(e, 0) + Math.Log(1 + Math.Exp(-Math.Abs(e))) - y[i] * e;
        }
        double penalty = 0;
        for (int j = 0; j < d; j++) penalty += theta[j] * theta[j];
        return sum + l2 / 2 * penalty;
    }

    private static (double[] Gradient, double[] Hessian) GradientAndHessian(double[,] x, double[] y, double[] theta, double l2, double[] eta)
    {
        int n = x.GetLength(0), d = x.GetLength(1), p = d + 1;
        var g = new double[p];
        var h = new double[p * p];
        var row = new double[p];
        row[d] = 1;
        for (int i = 0; i < n; i++)
        {
            double mu = 1 / (1 + Math.Exp(-eta[i])), s = mu * (1 - mu), r = mu - y[i];
            for (int j = 0; j < d; j++) row[j] = x[i, j];
            for (int j = 0; j < p; j++)
            {
                g[j] += r * row[j];
                double sj = s * row[j];
                if (sj == 0) continue;
                for (int k = j; k < p; k++) h[j * p + k] += sj * row[k];
            }
        }
        for (int j = 0; j < d; j++)
        {
            g[j] += l2 * theta[j];
            h[j * p + j] += l2;
        }
        // The intercept is not penalised; when every sample is fitted with certainty its curvature
        // underflows, and a whisker keeps the Hessian positive definite.
        h[d * p + d] += 1e-12 * n;
        for (int j = 0; j < p; j++)
            for (int k = 0; k < j; k++) h[j * p + k] = h[k * p + j];
        return (g, h);
    }

    private static (double[,] X, double[] Mean, double[] Scale) Standardize(ReadOnlySpan<float> features, int n, int d)
    {
        var mean = new double[d];
        var scale = new double[d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) mean[j] += features[i * d + j];
        for (int j = 0; j < d; j++) mean[j] /= n;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
            {
                double c = features[i * d + j] - mean[j];
                scale[j] += c * c;
            }
        for (int j = 0; j < d; j++)
        {
            double sd = Math.Sqrt(scale[j] / n);
            // A constant feature carries nothing; dividing by 1 leaves it 0 and its weight at 0.
            scale[j] = sd > 1e-12 ? sd : 1;
        }
        var x = new double[n, d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) x[i, j] = (features[i * d + j] - mean[j]) / scale[j];
        return (x, mean, scale);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}

/// <summary>Solves A x = b for a symmetric positive definite A (row-major n×n) by Cholesky factorisation.</summary>
internal static class Cholesky
{
    public static double[] Solve(double[] a, int n, double[] b)
    {
        var l = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double sum = a[i * n + j];
                for (int k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
                if (i == j)
                {
                    if (!(sum > 0)) throw new InvalidOperationException("The matrix is not positive definite.");
                    l[i * n + i] = Math.Sqrt(sum);
                }
                else l[i * n + j] = sum / l[j * n + j];
            }
        }
        var z = new double[n];
        for (int i = 0; i < n; i++)
        {
            double sum = b[i];
            for (int k = 0; k < i; k++) sum -= l[i * n + k] * z[k];
            z[i] = sum / l[i * n + i];
        }
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double sum = z[i];
            for (int k = i + 1; k < n; k++) sum -= l[k * n + i] * x[k];
            x[i] = sum / l[i * n + i];
        }
        return x;
    }
}
