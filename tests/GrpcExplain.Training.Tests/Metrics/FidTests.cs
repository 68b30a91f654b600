using System.Text.Json;
using GrpcExplain.Training.Metrics;

namespace GrpcExplain.Training.Tests.Metrics;

public sealed class FidTests
{
    private sealed record FixtureCase(string Name, int Dimension, double[] Features1, int Count1, double[] Features2, int Count2,
        double[] Mean1, double[] Mean2, double[] Covariance1, double[] Covariance2, double TraceSqrtProduct, double Fid);

    private sealed record Fixture(FixtureCase[] Cases);

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    private static readonly Lazy<FixtureCase[]> Cases = new(() =>
        JsonSerializer.Deserialize<Fixture>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "fid.json")), Json)!.Cases);

    public static TheoryData<string> CaseNames => ["well-conditioned", "shifted-and-scaled", "singular"];

    private static FeatureStatistics Stats(double[] features, int count, int d) =>
        FeatureStatistics.FromFeatures([.. features.Select(x => (float)x)], count, d);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MatchesNumPy(string name)
    {
        var c = Cases.Value.Single(x => x.Name == name);
        var a = Stats(c.Features1, c.Count1, c.Dimension);
        var b = Stats(c.Features2, c.Count2, c.Dimension);
        AssertClose(c.Mean1, a.Mean, 1e-12);
        AssertClose(c.Covariance2, b.Covariance, 1e-12);
        // Eigenvalues that are 0 in exact arithmetic come out as +-1e-16 relative, and their square roots as
        // 1e-8: with rank-deficient covariances both sides carry that much noise in the cross term.
        double relative = name == "singular" ? 1e-6 : 1e-9;
        Assert.Equal(c.TraceSqrtProduct, Fid.TraceSqrtProduct(a.Covariance, b.Covariance, c.Dimension), relative * Math.Abs(c.TraceSqrtProduct));
        Assert.Equal(c.Fid, Fid.Compute(a, b), relative * Math.Abs(c.Fid));
        Assert.Equal(c.Fid, Fid.Compute(b, a), relative * Math.Abs(c.Fid));
    }

    [Fact]
    public void DiagonalAndCommutingCovariancesHaveAClosedForm()
    {
        // Same eigenvectors Q: tr((S1 S2)^(1/2)) = sum sqrt(a_i b_i), so FID = |dmu|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
        const int d = 7;
        var rng = new Random(5);
        double[] av = [.. Enumerable.Range(0, d).Select(_ => 0.1 + 3 * rng.NextDouble())];
        double[] bv = [.. Enumerable.Range(0, d).Select(_ => 0.1 + 3 * rng.NextDouble())];
        double[] mu1 = [.. Enumerable.Range(0, d).Select(_ => rng.NextDouble())];
        double[] mu2 = [.. Enumerable.Range(0, d).Select(_ => rng.NextDouble())];
        double expected = Enumerable.Range(0, d).Sum(i => Math.Pow(mu1[i] - mu2[i], 2) + Math.Pow(Math.Sqrt(av[i]) - Math.Sqrt(bv[i]), 2));

        var diagonal = Fid.Compute(new FeatureStatistics(10, mu1, Diag(av)), new FeatureStatistics(10, mu2, Diag(bv)));
        Assert.Equal(expected, diagonal, 1e-12);

        double[] q = RandomOrthogonal(d, rng);
        var commuting = Fid.Compute(new FeatureStatistics(10, mu1, Conjugate(q, av)), new FeatureStatistics(10, mu2, Conjugate(q, bv)));
        Assert.Equal(expected, commuting, 1e-10);
    }

    [Fact]
    public void IdenticalSetsAreAtZeroAndAShiftAddsItsSquaredLength()
    {
        const int n = 300, d = 16;
        var rng = new Random(11);
        var x = new float[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1 + (i % d) * 0.1);
        var a = FeatureStatistics.FromFeatures(x, n, d);
        Assert.Equal(0, Fid.Compute(a, a), 1e-9);

        float[] delta = [.. Enumerable.Range(0, d).Select(j => (float)(0.25 * Math.Sin(j)))];
        var shifted = x.Select((v, i) => v + delta[i % d]).ToArray();
        var b = FeatureStatistics.FromFeatures(shifted, n, d);
        double expected = delta.Sum(v => (double)v * v);
        Assert.Equal(expected, Fid.Compute(a, b), 1e-5);
    }

    [Fact]
    public void AtResNet18sDimensionTheIdentitiesHold()
    {
        // 512 features, fewer samples than a real run but more than the dimension.
        const int n = 700, d = 512;
        var rng = new Random(3);
        var x = new float[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = (float)Math.Abs(rng.NextDouble() - 0.3 + Math.Sin(i % d));
        var a = FeatureStatistics.FromFeatures(x, n, d);
        Assert.Equal(0, Fid.Compute(a, a), 1e-6);
        var b = FeatureStatistics.FromFeatures([.. x.Select((v, i) => v + 0.01f)], n, d);
        Assert.Equal(d * 1e-4, Fid.Compute(a, b), 1e-6);
    }

    [Fact]
    public void CovarianceIsUnbiasedAndSymmetric()
    {
        float[] x = [1, 2, 3, 5, 5, 11];
        var s = FeatureStatistics.FromFeatures(x, 3, 2);
        Assert.Equal([3, 6], s.Mean);
        // Columns (1, 3, 5) and (2, 5, 11): var 4, 21; cov 9.
        Assert.Equal([4, 9, 9, 21], s.Covariance);
    }

    [Fact]
    public void StatisticsSaveAndLoad()
    {
        var s = FeatureStatistics.FromFeatures([1, 2, 3, 5, 5, 11, 0, -1], 4, 2);
        string path = Path.Combine(Path.GetTempPath(), $"fid-{Guid.NewGuid():N}.stats");
        try
        {
            s.Save(path);
            var back = FeatureStatistics.Load(path);
            Assert.Equal(s.Count, back.Count);
            Assert.Equal(s.Mean, back.Mean);
            Assert.Equal(s.Covariance, back.Covariance);
            File.WriteAllBytes(path, [1, 2, 3]);
            Assert.Throws<InvalidDataException>(() => FeatureStatistics.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static double[] Diag(double[] v)
    {
        var m = new double[v.Length * v.Length];
        for (int i = 0; i < v.Length; i++) m[i * v.Length + i] = v[i];
        return m;
    }

    internal static double[] RandomOrthogonal(int d, Random rng)
    {
        // Gram-Schmidt on a random matrix's columns.
        var q = new double[d * d];
        for (int i = 0; i < q.Length; i++) q[i] = rng.NextDouble() - 0.5;
        for (int j = 0; j < d; j++)
        {
            for (int p = 0; p < j; p++)
            {
                double dot = 0;
                for (int k = 0; k < d; k++) dot += q[k * d + j] * q[k * d + p];
                for (int k = 0; k < d; k++) q[k * d + j] -= dot * q[k * d + p];
            }
            double norm = Math.Sqrt(Enumerable.Range(0, d).Sum(k => q[k * d + j] * q[k * d + j]));
            for (int k = 0; k < d; k++) q[k * d + j] /= norm;
        }
        return q;
    }

    internal static double[] Conjugate(double[] q, double[] values)
    {
        int d = values.Length;
        var m = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                for (int k = 0; k < d; k++)
                    m[i * d + j] += q[i * d + k] * values[k] * q[j * d + k];
        return m;
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], tolerance * Math.Max(1, Math.Abs(expected[i])));
    }
}
