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

/// <summary>
/// The model behind a classifier, and the images and classes it works with; <see cref="Fit"/> is how an
/// image file of another size is brought to Height x Width (<see cref="InputImages"/>), as the model was trained.
/// </summary>
public sealed record ClassifierDescription(
    string Model, string Version, int Channels, int Height, int Width, IReadOnlyList<string> ClassLabels, ImageFit Fit = ImageFit.Resize)
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the classes when <paramref name="classIndex"/> is not one of them.</summary>
    public void CheckClass(int classIndex, string parameter = "targetClass")
    {
        if (classIndex < 0 || classIndex >= ClassLabels.Count)
            throw new ArgumentOutOfRangeException(parameter, classIndex, $"classifier '{Model}' has classes 0 to {ClassLabels.Count - 1} ({string.Join(", ", ClassLabels)}).");
    }
}

/// <summary>
/// A white-box classifier: besides probabilities, the gradient of a class's logit with respect to the
/// input pixels (our reference CNN offers it, and its server says so by listing a <c>logit_gradient</c>
/// output). The explainer's gradient direction pulls it back into latent space through the generator's
/// latent gradient.
/// </summary>
public interface IImageGradientClassifier : IClassifier
{
    /// <summary>d(logit of <paramref name="targetClass"/>)/d(image) for each image, [N, C, H, W] in the images' [-1, 1] units, with the predictions.</summary>
    Task<(Predictions Predictions, float[] Gradient)> ClassLogitGradientAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken);
}

/// <summary>
/// A classifier with convolutional features that can say where it looked: Grad-CAM (Selvaraju et al.
/// 2017) of a class, the white-box heat map the explainer shows beside the walk.
/// </summary>
public interface IGradCamClassifier : IClassifier
{
    /// <summary>Grad-CAM of <paramref name="targetClass"/> for each image, [N, H, W], each map in [0, 1].</summary>
    Task<float[]> GradCamAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken);
}
