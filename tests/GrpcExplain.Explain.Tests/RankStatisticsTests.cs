namespace GrpcExplain.Explain.Tests;

public class RankStatisticsTests
{
    [Fact]
    public void TiesShareTheAverageOfTheirRanks() =>
        Assert.Equal([2, 3.5, 3.5, 1, 5], RankStatistics.Ranks([10, 20, 20, 5, 30]));

    /// <summary>
    /// By hand: positives score 0.9, 0.4, 0.4 and negatives 0.4, 0.2. Of the 6 pairs the positive
    /// wins 5 (0.9 beats both; each 0.4 beats 0.2) and ties 2 with the negative 0.4 → (4 + 2 × 0.5) / 6.
    /// </summary>
    [Fact]
    public void AucIsTheChanceThatAPositiveOutscoresANegative()
    {
        double auc = RankStatistics.RocAuc([0.9, 0.4, 0.4, 0.4, 0.2], [true, true, true, false, false]);
        Assert.Equal(5.0 / 6, auc, 12);
        Assert.Equal(1.0, RankStatistics.RocAuc([3, 2, 1], [true, true, false]));
        Assert.Equal(0.0, RankStatistics.RocAuc([1, 2, 3], [true, true, false]));
        Assert.True(double.IsNaN(RankStatistics.RocAuc([1, 2], [true, true])));
    }

    [Fact]
    public void SpearmanWithoutTiesMatchesTheTextbookFormula()
    {
        // ρ = 1 − 6 Σ d² / (n (n² − 1)); ranks of y: 2, 1, 4, 3, 5 → Σ d² = 1 + 1 + 1 + 1 + 0 = 4.
        double[] x = [1, 2, 3, 4, 5], y = [0.2, 0.1, 0.5, 0.3, 0.9];
        Assert.Equal(1 - 6.0 * 4 / (5 * 24), RankStatistics.Spearman(x, y), 12);
        Assert.Equal(1, RankStatistics.Spearman(x, [.. x.Select(v => Math.Exp(v))]), 12);
        Assert.Equal(-1, RankStatistics.Spearman(x, [.. x.Select(v => -v * v)]), 12);
    }

    [Fact]
    public void SpearmanWithTiesIsPearsonOnAverageRanks()
    {
        // y ranks: 1.5, 1.5, 3, 4; x ranks 1..4. Pearson by hand: means 2.5; deviations x (−1.5, −.5, .5, 1.5),
        // y (−1, −1, .5, 1.5); Σxy = 1.5 + .5 + .25 + 2.25 = 4.5; Σx² = 5; Σy² = 1 + 1 + .25 + 2.25 = 4.5.
        Assert.Equal(4.5 / Math.Sqrt(5 * 4.5), RankStatistics.Spearman([1, 2, 3, 4], [0.1, 0.1, 0.5, 0.7]), 12);
        Assert.Equal(0, RankStatistics.Spearman([1, 2, 3], [0.5, 0.5, 0.5]));
    }

    [Fact]
    public void ImageDistancesAreInPixelUnits()
    {
        Assert.Equal(0.75, ImageDistance.MeanSquared([1, 0, -1, 0], [0, 0, 0, 1]), 12);
        Assert.Equal(Math.Sqrt(0.75), ImageDistance.RootMeanSquare([1, 0, -1, 0], [0, 0, 0, 1]), 12);
    }
}
