namespace GrpcExplain.Classifiers.Reference;

/// <summary>The classifier's loss on the host: softmax over each row of logits and the mean cross-entropy against integer labels.</summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>Softmax of each row of <paramref name="logits"/> [N, classes] (the same arithmetic as the ONNX path's postprocessing).</summary>
    public static float[] Probabilities(float[] logits, int classes)
    {
        ArgumentNullException.ThrowIfNull(logits);
        CheckShape(logits, classes);
        var p = new float[logits.Length];
        for (int i = 0; i < logits.Length; i += classes) Postprocessing.Softmax(logits.AsSpan(i, classes), p.AsSpan(i, classes));
        return p;
    }

    /// <summary>
    /// L = −(1/N) Σₙ log softmax(logitsₙ)[labelₙ] and dL/d(logits) = (softmax − onehot) / N. The loss is
    /// computed as logsumexp − logit in double, so a confident wrong answer gives a large finite loss.
    /// </summary>
    public static (double Loss, float[] DLogits) Compute(float[] logits, ReadOnlySpan<int> labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(logits);
        CheckShape(logits, classes);
        int n = logits.Length / classes;
        if (labels.Length != n) throw new ArgumentException($"{labels.Length} labels for {n} rows of logits.", nameof(labels));
        var d = Probabilities(logits, classes);
        double loss = 0;
        for (int b = 0; b < n; b++)
        {
            int label = labels[b];
            if (label < 0 || label >= classes) throw new ArgumentException($"label {label} of row {b} is not a class 0 to {classes - 1}.", nameof(labels));
            var row = logits.AsSpan(b * classes, classes);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float v in row) max = Math.Max(max, v);
            foreach (float v in row) sum += Math.Exp(v - max);
            loss += max + Math.Log(sum) - row[label];
            d[b * classes + label] -= 1f;
        }
        for (int i = 0; i < d.Length; i++) d[i] /= n;
        return (loss / n, d);
    }

    private static void CheckShape(float[] logits, int classes)
    {
        if (classes < 1 || logits.Length == 0 || logits.Length % classes != 0)
            throw new ArgumentException($"{logits.Length} logits are not rows of {classes} classes.", nameof(logits));
    }
}
