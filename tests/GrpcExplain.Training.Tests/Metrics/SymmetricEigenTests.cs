using GrpcExplain.Training.Metrics;

namespace GrpcExplain.Training.Tests.Metrics;

public sealed class SymmetricEigenTests
{
    private static double[] RandomSymmetric(int n, int seed, int rank = -1)
    {
        var rng = new Random(seed);
        int k = rank < 0 ? n : rank;
        var x = new double[n * k];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() * 2 - 1;
        var m = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++)
                    m[i * n + j] += x[i * k + p] * x[j * k + p];
        if (rank < 0)
            for (int i = 0; i < n; i++) m[i * n + i] -= 0.5 * n / 3; // indefinite: some negative eigenvalues
        return m;
    }

    [Theory]
    [InlineData(1, 1, -1)]
    [InlineData(2, 2, -1)]
    [InlineData(9, 3, -1)]
    [InlineData(24, 4, -1)]
    [InlineData(20, 5, 6)]
    public void FastPathAgreesWithJacobiAndReconstructs(int n, int seed, int rank)
    {
        var a = RandomSymmetric(n, seed, rank);
        var (values, vectors) = SymmetricEigen.Decompose(a, n);
        var (reference, referenceVectors) = SymmetricEigen.DecomposeJacobi(a, n);
        double scale = Math.Max(1, values.Max(Math.Abs));
        for (int i = 0; i < n; i++) Assert.Equal(reference[i], values[i], 1e-11 * scale);
        Assert.True(values.SequenceEqual(values.Order()));
        Assert.NotNull(vectors);
        // Where the values are distinct, the vectors agree with Jacobi's up to sign.
        for (int k = 0; k < n; k++)
        {
            bool distinct = (k == 0 || values[k] - values[k - 1] > 1e-6 * scale) && (k == n - 1 || values[k + 1] - values[k] > 1e-6 * scale);
            if (!distinct) continue;
            double dot = Enumerable.Range(0, n).Sum(i => vectors[k * n + i] * referenceVectors[k * n + i]);
            Assert.Equal(1, Math.Abs(dot), 1e-8);
        }
        // Rows are the eigenvectors: A = sum_k values[k] v_k v_k^T, and the rows are orthonormal.
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double av = 0, vtv = 0;
                for (int k = 0; k < n; k++)
                {
                    av += vectors[k * n + i] * values[k] * vectors[k * n + j];
                    vtv += vectors[i * n + k] * vectors[j * n + k];
                }
                Assert.Equal(a[i * n + j], av, 1e-11 * scale);
                Assert.Equal(i == j ? 1 : 0, vtv, 1e-12);
            }
        Assert.Equal(values, SymmetricEigen.Decompose(a, n, vectors: false).Values);
    }

    [Fact]
    public void KnownValuesAndDegenerateMatrices()
    {
        Assert.Equal([1, 3], SymmetricEigen.Decompose([2, 1, 1, 2], 2).Values.Select(v => Math.Round(v, 12)));
        Assert.Equal([0, 0, 0], SymmetricEigen.Decompose(new double[9], 3).Values);
        Assert.Equal([2, 2, 2], SymmetricEigen.Decompose([2, 0, 0, 0, 2, 0, 0, 0, 2], 3).Values);
        Assert.Empty(SymmetricEigen.Decompose([], 0).Values);
        Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose([1, double.NaN, double.NaN, 1], 2));
        Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose([1, 2, 3], 2));
    }

    [Fact]
    public void MatrixSqrtSquaresBack()
    {
        const int n = 12;
        var a = RandomSymmetric(n, 8, rank: 12);
        var r = Fid.MatrixSqrt(a, n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int k = 0; k < n; k++) sum += r[i * n + k] * r[k * n + j];
                Assert.Equal(a[i * n + j], sum, 1e-10);
            }
    }
}
