using GrpcExplain.Classifiers;

namespace GrpcExplain.Explain;

/// <summary>A classifier's output for one image: the probability of each class and the most probable one.</summary>
public sealed record ClassPrediction(float[] Probabilities, int PredictedClass, IReadOnlyList<string> ClassLabels)
{
    public float Probability(int classIndex) => Probabilities[classIndex];

    public static ClassPrediction Of(Predictions predictions, int image)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return new ClassPrediction(predictions.Of(image).ToArray(), predictions.PredictedClass(image), predictions.ClassLabels);
    }

    /// <summary>Classifies one image.</summary>
    public static async Task<ClassPrediction> OfAsync(IClassifier classifier, ImageBatch image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        return Of(await classifier.ClassifyAsync(image, cancellationToken).ConfigureAwait(false), 0);
    }
}

/// <summary>Logits of probabilities, clipped so that 0 and 1 stay finite.</summary>
public static class Logit
{
    private const float Epsilon = 1e-6f;

    public static float Of(float probability)
    {
        float p = Math.Clamp(probability, Epsilon, 1 - Epsilon);
        return MathF.Log(p / (1 - p));
    }
}
