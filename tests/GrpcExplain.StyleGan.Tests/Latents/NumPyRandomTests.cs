using GrpcExplain.StyleGan.Latents;

namespace GrpcExplain.StyleGan.Tests.Latents;

/// <summary>NumPyRandom against values NumPy printed (<see cref="NumPyReference"/>): the same seed gives the same z.</summary>
public sealed class NumPyRandomTests
{
    // The same operations in the same order give the same doubles: sqrt is correctly rounded and
    // glibc's log, which both NumPy and .NET call on Linux, is too in all but rare cases; allow a few ulps.
    private static void Same(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double ulp = Math.BitIncrement(Math.Abs(expected[i])) - Math.Abs(expected[i]);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 4 * ulp, $"value {i}: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }

    [Fact]
    public void Seed0RandnStartsWithNumPysDocumentedValues()
    {
        var x = new NumPyRandom(0).Randn(5);
        Assert.Equal([1.76405235, 0.40015721, 0.97873798, 2.2408932, 1.86755799], x.Select(v => Math.Round(v, 8)));
    }

    [Fact]
    public void Seed0ThousandDrawsMatchNumPy() => Same(NumPyReference.Seed0Randn1000, new NumPyRandom(0).Randn(1000));

    [Theory]
    [InlineData(1u)]
    [InlineData(42u)]
    [InlineData(123456789u)]
    [InlineData(2147483648u)]
    [InlineData(4294967295u)]
    public void OtherSeedsMatchNumPy(uint seed)
    {
        var expected = seed switch
        {
            1u => NumPyReference.Seed1Randn8,
            42u => NumPyReference.Seed42Randn8,
            123456789u => NumPyReference.Seed123456789Randn8,
            2147483648u => NumPyReference.Seed2147483648Randn8,
            _ => NumPyReference.Seed4294967295Randn8,
        };
        Same(expected, new NumPyRandom(seed).Randn(8));
    }

    [Fact]
    public void RandomSampleMatchesNumPy()
    {
        var rng = new NumPyRandom(7);
        Same(NumPyReference.Seed7RandomSample5, [.. Enumerable.Range(0, 5).Select(_ => rng.NextDouble())]);
    }

    [Fact]
    public void CachedGaussianSurvivesUniformDrawsAsInNumPy()
    {
        // randn(3) leaves the pair's second value cached; random_sample does not clear it.
        var rng = new NumPyRandom(3);
        double[] actual = [.. rng.Randn(3), rng.NextDouble(), rng.NextDouble(), .. rng.Randn(2)];
        Same(NumPyReference.Seed3Randn3Sample2Randn2, actual);
    }

    [Fact]
    public void Mt19937MatchesTheReferenceGeneratorsFirstOutputs()
    {
        // Matsumoto and Nishimura's mt19937ar.c with init_genrand(5489), C++ std::mt19937's default seed.
        var rng = new NumPyRandom(5489);
        Assert.Equal(3499211612u, rng.NextUInt32());
        Assert.Equal(581869302u, rng.NextUInt32());
        for (int i = 3; i < 10000; i++) rng.NextUInt32();
        Assert.Equal(4123659995u, rng.NextUInt32()); // the 10000th output, which the C++ standard specifies
    }

    [Fact]
    public void SeededZIsNumPysRandnRoundedToFloat32()
    {
        var z = SeededLatents.Z([0, 42], zDim: 8);
        Assert.Equal(NumPyReference.Seed0Randn1000.Take(8).Select(v => (float)v), z.Take(8));
        Assert.Equal(NumPyReference.Seed42Randn8.Select(v => (float)v), z.Skip(8));
    }

    [Fact]
    public void OneHotMarksTheClassInEveryRow()
    {
        Assert.Equal([0f, 0f, 1f, 0f, 0f, 1f], SeededLatents.OneHot(2, cDim: 3, count: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => SeededLatents.OneHot(3, cDim: 3, count: 1));
    }
}
