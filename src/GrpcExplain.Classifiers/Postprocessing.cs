namespace GrpcExplain.Classifiers;

/// <summary>A model's class scores [N, K] to probabilities [N, labels], as the config's activation says.</summary>
public static class Postprocessing
{
    /// <summary>Whether <paramref name="scores"/> values per image make the config's class probabilities.</summary>
    public static bool Fits(ClassifierConfig config, long scores) =>
        scores == config.ClassLabels.Count
        || (config.Output.Activation == Activation.Sigmoid && scores == 1 && config.ClassLabels.Count == 2);

    public static float[] ToProbabilities(ClassifierConfig config, Tensor output, int count)
    {
        if (output.Type != DataType.Fp32 || output.Shape.Count != 2 || output.Shape[0] != count || !Fits(config, output.Shape[1]))
        {
            throw new InvalidDataException(
                $"Output '{output.Name}' is {DataTypes.Name(output.Type)} [{string.Join(", ", output.Shape)}]; expected FP32 [{count}, {config.ClassLabels.Count}] scores.");
        }
        var scores = output.Floats;
        int k = (int)output.Shape[1], labels = config.ClassLabels.Count;
        var p = new float[count * labels];
        for (int b = 0; b < count; b++)
        {
            var row = scores.AsSpan(b * k, k);
            var dst = p.AsSpan(b * labels, labels);
            switch (config.Output.Activation)
            {
                case Activation.Softmax:
                    Softmax(row, dst);
                    break;
                case Activation.Sigmoid when k == 1 && labels == 2:
                    dst[1] = Sigmoid(row[0]);
                    dst[0] = 1f - dst[1];
                    break;
                case Activation.Sigmoid:
                    for (int j = 0; j < k; j++)
                    {
                        dst[j] = Sigmoid(row[j]);
                    }
                    break;
                default:
                    row.CopyTo(dst);
                    break;
            }
        }
        if (Preprocessing.FirstNonFinite(p) is int bad and >= 0)
        {
            throw new InvalidDataException($"The model gave a non-finite score for image {bad / labels}.");
        }
        return p;
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    internal static void Softmax(ReadOnlySpan<float> logits, Span<float> p)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits)
        {
            max = MathF.Max(max, v);
        }
        double sum = 0;
        for (int j = 0; j < logits.Length; j++)
        {
            p[j] = MathF.Exp(logits[j] - max);
            sum += p[j];
        }
        for (int j = 0; j < logits.Length; j++)
        {
            p[j] = (float)(p[j] / sum);
        }
    }
}
