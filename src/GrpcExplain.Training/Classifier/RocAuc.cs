namespace GrpcExplain.Training.Classifier;

/// <summary>
/// Area under the ROC curve of scores against binary labels, as the Mann–Whitney statistic: the chance
/// that a random positive scores above a random negative, ties counting half (average ranks), which is
/// what sklearn.metrics.roc_auc_score gives. NaN when either class is absent.
/// </summary>
public static class RocAuc
{
    public static double Compute(ReadOnlySpan<float> scores, ReadOnlySpan<bool> positive)
    {
        if (scores.Length != positive.Length) throw new ArgumentException($"{scores.Length} scores for {positive.Length} labels.", nameof(positive));
        int n = scores.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var s = scores.ToArray();
        Array.Sort(order, (a, b) => s[a].CompareTo(s[b]));
        double positiveRanks = 0;
        long positives = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && s[order[j + 1]] == s[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1; // ranks are 1-based; a tie shares its average rank
            for (int k = i; k <= j; k++)
                if (positive[order[k]])
                {
                    positiveRanks += rank;
                    positives++;
                }
            i = j + 1;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (positiveRanks - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>
    /// For probabilities [N, classes]: with two classes the AUC of class 1's probability; with more, the
    /// mean over classes of one-against-the-rest AUCs (sklearn's multi_class='ovr', average='macro'),
    /// classes absent from the labels left out.
    /// </summary>
    public static double FromProbabilities(ReadOnlySpan<float> probabilities, ReadOnlySpan<int> labels, int classes)
    {
        if (probabilities.Length != labels.Length * classes) throw new ArgumentException($"{probabilities.Length} probabilities for {labels.Length} labels of {classes} classes.", nameof(probabilities));
        int n = labels.Length;
        var scores = new float[n];
        var positive = new bool[n];
        double sum = 0;
        int counted = 0;
        for (int c = classes == 2 ? 1 : 0; c < classes; c++)
        {
            for (int i = 0; i < n; i++) (scores[i], positive[i]) = (probabilities[i * classes + c], labels[i] == c);
            double auc = Compute(scores, positive);
            if (double.IsNaN(auc)) continue;
            sum += auc;
            counted++;
        }
        return counted == 0 ? double.NaN : sum / counted;
    }
}
