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

/// <summary>
/// A white-box classifier: besides probabilities, the gradient of a class's logit with respect to the
/// input pixels (our reference CNN offers it and says so in its metadata). The gradient direction
/// pulls it back into latent space through the generator's latent gradient.
/// </summary>
public interface IImageGradientClassifier : IClassifier
{
    /// <summary>d(logit of <paramref name="targetClass"/>)/d(image) for each image, [N, C, H, W] in the images' [-1, 1] units, with the predictions.</summary>
    Task<(Predictions Predictions, float[] Gradient)> ClassLogitGradientAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken);
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
