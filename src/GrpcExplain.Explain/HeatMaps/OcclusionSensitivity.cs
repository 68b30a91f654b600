using GrpcExplain.Classifiers;

namespace GrpcExplain.Explain.HeatMaps;

/// <summary>How a heat map was made.</summary>
public enum HeatMapMethod
{
    /// <summary>Grad-CAM, for white-box classifiers (<see cref="IGradCamClassifier"/>: the reference CNN).</summary>
    GradCam,

    /// <summary>The drop in the target probability when each patch is covered (black-box).</summary>
    Occlusion,
}

/// <summary>Relevance per pixel [Height, Width] in [0, 1], for comparison with the walk (where the model looked).</summary>
public sealed record HeatMap(HeatMapMethod Method, float[] Relevance, int Height, int Width);

/// <summary>
/// Occlusion sensitivity (Zeiler and Fergus 2014), the black-box heat map: cover each square patch
/// with mid-grey (0 in [-1, 1]) and see how far the target probability drops. A pixel's relevance is
/// the mean drop over the patches that cover it, negative drops counted as none, scaled so the
/// largest is 1. A white-box classifier with convolutional features gets Grad-CAM instead
/// (<see cref="GradCamHeatMap"/>); the map says which in its method.
/// </summary>
public static class OcclusionSensitivity
{
    /// <param name="patch">Side of a covered square, in pixels; 0 means an eighth of the image.</param>
    /// <param name="stride">Step between patches; 0 means half a patch.</param>
    public static async Task<HeatMap> ComputeAsync(IClassifier classifier, ImageBatch image, int targetClass, int patch = 0, int stride = 0,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(image);
        if (image.Count != 1) throw new ArgumentException($"One image at a time; got {image.Count}.", nameof(image));
        int h = image.Height, w = image.Width, plane = h * w;
        if (patch <= 0) patch = Math.Max(1, Math.Min(h, w) / 8);
        patch = Math.Min(patch, Math.Min(h, w));
        if (stride <= 0) stride = Math.Max(1, patch / 2);
        int[] rows = Positions(h, patch, stride), columns = Positions(w, patch, stride);

        var occluded = new float[rows.Length * columns.Length * image.ImageLength];
        int k = 0;
        foreach (int top in rows)
        {
            foreach (int left in columns)
            {
                var copy = occluded.AsSpan(k++ * image.ImageLength, image.ImageLength);
                image.Pixels.CopyTo(copy);
                for (int c = 0; c < image.Channels; c++)
                    for (int y = top; y < top + patch; y++) copy.Slice(c * plane + y * w + left, patch).Clear();
            }
        }
        var original = await classifier.ClassifyAsync(image, cancellationToken).ConfigureAwait(false);
        var covered = await classifier.ClassifyAsync(new ImageBatch(occluded, k, image.Channels, h, w), cancellationToken).ConfigureAwait(false);
        float p0 = original.Probability(0, targetClass);

        var sum = new double[plane];
        var hits = new int[plane];
        k = 0;
        foreach (int top in rows)
        {
            foreach (int left in columns)
            {
                double drop = Math.Max(0, p0 - covered.Probability(k++, targetClass));
                for (int y = top; y < top + patch; y++)
                    for (int x = left; x < left + patch; x++)
                    {
                        sum[y * w + x] += drop;
                        hits[y * w + x]++;
                    }
            }
        }
        var relevance = new float[plane];
        for (int i = 0; i < plane; i++) relevance[i] = hits[i] == 0 ? 0 : (float)(sum[i] / hits[i]);
        float max = relevance.Max();
        if (max > 0)
            for (int i = 0; i < plane; i++) relevance[i] /= max;
        return new HeatMap(HeatMapMethod.Occlusion, relevance, h, w);
    }

    /// <summary>Patch offsets along one side: every stride, and the last one flush with the edge so the whole side is covered.</summary>
    internal static int[] Positions(int size, int patch, int stride)
    {
        var positions = new List<int>();
        for (int p = 0; p + patch <= size; p += stride) positions.Add(p);
        if (positions[^1] + patch < size) positions.Add(size - patch);
        return [.. positions];
    }
}

/// <summary>A heat map over its image, for people: the image in grey, turning red where relevance is high.</summary>
public static class HeatMapOverlay
{
    /// <summary>RGB [3, H, W] in [-1, 1]: (1 − 0.6 r) × grey + 0.6 r × red, r the relevance.</summary>
    public static float[] Render(ImageBatch image, HeatMap map)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(map);
        if (image.Count != 1 || image.Height != map.Height || image.Width != map.Width)
            throw new ArgumentException($"A {map.Height}x{map.Width} heat map does not fit {image.Count} image(s) of {image.Height}x{image.Width}.");
        int plane = map.Height * map.Width;
        var rgb = new float[3 * plane];
        float[] red = [1f, -1f, -1f];
        for (int i = 0; i < plane; i++)
        {
            float grey = 0;
            for (int c = 0; c < image.Channels; c++) grey += image.Pixels[c * plane + i];
            grey /= image.Channels;
            float a = 0.6f * Math.Clamp(map.Relevance[i], 0f, 1f);
            for (int c = 0; c < 3; c++) rgb[c * plane + i] = (1 - a) * grey + a * red[c];
        }
        return rgb;
    }
}
