using GrpcExplain.Classifiers;

namespace GrpcExplain.Explain.HeatMaps;

/// <summary>
/// The heat map of a white-box classifier: its Grad-CAM of the target class (Selvaraju et al. 2017), which
/// the classifier computes on its own last feature map and upsamples to the image (see
/// <see cref="IGradCamClassifier"/>). One call, where occlusion needs one per patch.
/// </summary>
public static class GradCamHeatMap
{
    public static async Task<HeatMap> ComputeAsync(IGradCamClassifier classifier, ImageBatch image, int targetClass, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(image);
        if (image.Count != 1) throw new ArgumentException($"One image at a time; got {image.Count}.", nameof(image));
        var map = await classifier.GradCamAsync(image, targetClass, cancellationToken).ConfigureAwait(false);
        if (map.Length != image.Height * image.Width)
            throw new InvalidDataException($"Classifier '{classifier.Description.Model}' gave a Grad-CAM map of {map.Length} values for a {image.Height}x{image.Width} image.");
        return new HeatMap(HeatMapMethod.GradCam, map, image.Height, image.Width);
    }

    /// <summary>Grad-CAM when the classifier offers it, occlusion sensitivity otherwise: the map the explanation shows.</summary>
    public static Task<HeatMap> OfAsync(IClassifier classifier, ImageBatch image, int targetClass, int occlusionPatch, int occlusionStride, CancellationToken cancellationToken) =>
        classifier is IGradCamClassifier whiteBox
            ? ComputeAsync(whiteBox, image, targetClass, cancellationToken)
            : OcclusionSensitivity.ComputeAsync(classifier, image, targetClass, occlusionPatch, occlusionStride, cancellationToken);
}
