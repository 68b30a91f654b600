namespace GrpcExplain.Explain;

/// <summary>
/// Rank statistics: the ROC AUC of a probe's scores (the Mann-Whitney rank formula) and the Spearman
/// correlation of a walk (Pearson's on ranks). Ties take the average of the ranks they span, so both
/// are exact for tied scores too.
/// </summary>
public static class RankStatistics
{
    /// <summary>1-based ranks, ties averaged: [10, 20, 20, 5] → [2, 3.5, 3.5, 1].</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int n = values.Count;
        int[] order = [.. Enumerable.Range(0, n).OrderBy(i => values[i])];
        var ranks = new double[n];
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end + 1 < n && values[order[end + 1]] == values[order[start]]) end++;
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>
    /// Area under the ROC curve of <paramref name="scores"/> for <paramref name="positive"/> labels:
    /// (sum of the positives' ranks − n₊(n₊ + 1)/2) / (n₊ n₋), the probability that a random positive
    /// outscores a random negative (ties count half). NaN when one class is absent.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(positive);
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores for {positive.Count} labels.");
        var ranks = Ranks(scores);
        double positives = 0, rankSum = 0;
        for (int i = 0; i < ranks.Length; i++)
        {
            if (!positive[i]) continue;
            positives++;
            rankSum += ranks[i];
        }
        double negatives = ranks.Length - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    /// <summary>Spearman's rank correlation (−1 to 1); 0 when either series is constant (no order to follow).</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} and {y.Count} values: Spearman needs pairs.");
        return Pearson(Ranks(x), Ranks(y));
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }
}

/// <summary>Distances between images in the system's [-1, 1] units.</summary>
public static class ImageDistance
{
    public static double MeanSquared(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length || a.Length == 0) throw new ArgumentException($"Images of {a.Length} and {b.Length} values cannot be compared.");
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            sum += d * d;
        }
        return sum / a.Length;
    }

    public static double RootMeanSquare(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => Math.Sqrt(MeanSquared(a, b));
}
