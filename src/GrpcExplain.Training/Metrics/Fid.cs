namespace GrpcExplain.Training.Metrics;

/// <summary>
/// Fréchet distance between two Gaussians fitted to features (Heusel et al. 2017):
/// |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)). The cross term is computed on the symmetric form:
/// with R = S1^(1/2) (from S1's eigen-decomposition, negative eigenvalues of round-off clamped to 0),
/// (S1 S2)^(1/2) has the eigenvalues of (R S2 R)^(1/2), so tr = sum of sqrt of the eigenvalues of R S2 R.
/// No complex parts and no scipy sqrtm; singular covariances (fewer samples than dimensions) are fine.
/// </summary>
public static class Fid
{
    public static double Compute(FeatureStatistics a, FeatureStatistics b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Dimension != b.Dimension) throw new ArgumentException($"features of dimension {a.Dimension} and {b.Dimension} cannot be compared.");
        int d = a.Dimension;
        double meanTerm = 0;
        for (int i = 0; i < d; i++)
        {
            double diff = a.Mean[i] - b.Mean[i];
            meanTerm += diff * diff;
        }
        double traces = 0;
        for (int i = 0; i < d; i++) traces += a.Covariance[i * d + i] + b.Covariance[i * d + i];
        double fid = meanTerm + traces - 2 * TraceSqrtProduct(a.Covariance, b.Covariance, d);
        return Math.Max(fid, 0);
    }

    /// <summary>tr((S1 S2)^(1/2)) for symmetric positive semi-definite S1, S2 (row-major, d x d).</summary>
    public static double TraceSqrtProduct(double[] s1, double[] s2, int d)
    {
        var root = MatrixSqrt(s1, d);
        var m = Multiply(Multiply(root, s2, d), root, d);
        Symmetrize(m, d);
        var (values, _) = SymmetricEigen.Decompose(m, d, vectors: false);
        double trace = 0;
        foreach (double v in values) trace += Math.Sqrt(Math.Max(v, 0));
        return trace;
    }

    /// <summary>The symmetric square root: sum over eigenpairs of sqrt(max(lambda, 0)) v v^T.</summary>
    public static double[] MatrixSqrt(double[] s, int d)
    {
        var (values, vectors) = SymmetricEigen.Decompose(s, d);
        var root = new double[d * d];
        Parallel.For(0, d, i =>
        {
            var row = root.AsSpan(i * d, d);
            for (int k = 0; k < d; k++)
            {
                double a = Math.Sqrt(Math.Max(values[k], 0)) * vectors![k * d + i];
                if (a != 0) DenseMath.Axpy(a, vectors.AsSpan(k * d, d), row);
            }
        });
        Symmetrize(root, d);
        return root;
    }

    private static double[] Multiply(double[] x, double[] y, int d)
    {
        var z = new double[d * d];
        Parallel.For(0, d, i =>
        {
            var row = z.AsSpan(i * d, d);
            for (int k = 0; k < d; k++)
            {
                double a = x[i * d + k];
                if (a != 0) DenseMath.Axpy(a, y.AsSpan(k * d, d), row);
            }
        });
        return z;
    }

    private static void Symmetrize(double[] m, int d)
    {
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++)
            {
                double avg = 0.5 * (m[i * d + j] + m[j * d + i]);
                m[i * d + j] = avg;
                m[j * d + i] = avg;
            }
    }
}
