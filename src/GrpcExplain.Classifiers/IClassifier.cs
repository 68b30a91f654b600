namespace GrpcExplain.Classifiers;

/// <summary>
/// A black-box image classifier as the method sees it: a batch of images in, class probabilities
/// out. Implementations run a model themselves (<see cref="OnnxClassifier"/>) or ask a server that
/// speaks the Open Inference Protocol (<see cref="OipClassifier"/>); the caller cannot tell which.
/// </summary>
public interface IClassifier : IDisposable
{
    /// <summary>What the classifier takes (image size and channels) and says (class labels).</summary>
    ClassifierDescription Description { get; }

    /// <summary>
    /// Probabilities of every class for every image. The images must have the description's
    /// channels, height and width; any batch size is accepted (split as the model needs).
    /// </summary>
    Task<Predictions> ClassifyAsync(ImageBatch images, CancellationToken cancellationToken = default);
}

/// <summary>The model behind a classifier, and the images and classes it works with.</summary>
public sealed record ClassifierDescription(
    string Model, string Version, int Channels, int Height, int Width, IReadOnlyList<string> ClassLabels);
