using SixLabors.ImageSharp;

namespace GrpcExplain.Training.Data;

/// <summary>
/// A labelled set of images, listed up front and decoded one at a time on demand: what
/// <see cref="PackedCache"/> decodes once and packs. Indices follow the listing's order.
/// </summary>
public interface IImageDataset
{
    /// <summary>Where the images come from (a full path) and which split: part of the cache key.</summary>
    string Source { get; }

    string Split { get; }

    /// <summary>Class names by class index, sorted as the source defines them.</summary>
    IReadOnlyList<string> Classes { get; }

    /// <summary>How class indices become labels (identity unless the dataset was opened with a mapping).</summary>
    LabelMapping Mapping { get; }

    /// <summary>How many distinct labels the mapping produces (labels are 0 .. LabelCount-1).</summary>
    int LabelCount { get; }

    int Count { get; }

    /// <summary>The mapped label of image <paramref name="index"/>.</summary>
    int Label(int index);

    /// <summary>
    /// A hex SHA-256 of what the listing holds and of what identifies each image's content (name, label,
    /// size and time of each file; the bytes of an array): a different hash means the cache is stale.
    /// </summary>
    string ListingHash { get; }

    /// <summary>Decodes image <paramref name="index"/> in whatever pixel type its source has.</summary>
    Image LoadImage(int index);
}
