using System.Text.Json.Serialization;

namespace GrpcExplain.Training.Classifier;

/// <summary>Which random transformations each training image gets (never the validation images).</summary>
public enum ClassifierAugmentation
{
    /// <summary>Nothing.</summary>
    [JsonStringEnumMemberName("none")]
    None,

    /// <summary>
    /// One of the 8 symmetries of the square (flips and 90° rotations), uniformly: histology tiles have no
    /// preferred orientation, so the label does not change under any of them.
    /// </summary>
    [JsonStringEnumMemberName("dihedral")]
    Dihedral,

    /// <summary>
    /// A horizontal flip with probability ½ (left and right knees mirror each other) and an integer shift of
    /// up to resolution/16 pixels each way, the edge pixels repeated into the gap: X-rays have an up and
    /// a down, so no vertical flips or rotations.
    /// </summary>
    [JsonStringEnumMemberName("flip-translate")]
    FlipTranslate,
}

/// <summary>Applies a <see cref="ClassifierAugmentation"/> to a batch of square images [N, C, R, R] in place.</summary>
public static class ClassifierAugmenter
{
    public static void Apply(ClassifierAugmentation mode, Span<float> images, int n, int channels, int resolution, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int plane = resolution * resolution, image = channels * plane;
        if (images.Length != n * image) throw new ArgumentException($"{images.Length} values are not {n} images of {channels}x{resolution}x{resolution}.", nameof(images));
        if (mode == ClassifierAugmentation.None) return;
        var source = new float[plane];
        int shift = resolution / 16;
        for (int b = 0; b < n; b++)
        {
            // Every image draws the same number of values, so the draws stay aligned whatever they are.
            int d = random.Next(8), dx = random.Next(-shift, shift + 1), dy = random.Next(-shift, shift + 1);
            bool flip = random.Next(2) == 1;
            for (int c = 0; c < channels; c++)
            {
                var p = images.Slice(b * image + c * plane, plane);
                p.CopyTo(source);
                if (mode == ClassifierAugmentation.Dihedral) Symmetry(source, p, resolution, d);
                else Shift(source, p, resolution, flip, dx, dy);
            }
        }
    }

    /// <summary>
    /// Symmetry <paramref name="d"/> of the square: output (y, x) reads input (y', x') with, for d = 0..3,
    /// a rotation by d quarter turns, and for d = 4..7 the same after a horizontal flip. d = 0 is the identity.
    /// </summary>
    internal static void Symmetry(ReadOnlySpan<float> source, Span<float> target, int r, int d)
    {
        int last = r - 1;
        for (int y = 0; y < r; y++)
            for (int x = 0; x < r; x++)
            {
                int u = d >= 4 ? last - x : x; // horizontal flip first
                // Quarter turn q(y, x) = (x, last − y); two and three of them composed.
                var (sy, sx) = (d & 3) switch
                {
                    0 => (y, u),
                    1 => (u, last - y),
                    2 => (last - y, last - u),
                    _ => (last - u, y),
                };
                target[y * r + x] = source[sy * r + sx];
            }
    }

    /// <summary>Output (y, x) reads input (y − dy, x' − dx), x' the flipped column when <paramref name="flip"/>, indices clamped to the edge.</summary>
    internal static void Shift(ReadOnlySpan<float> source, Span<float> target, int r, bool flip, int dx, int dy)
    {
        for (int y = 0; y < r; y++)
        {
            int sy = Math.Clamp(y - dy, 0, r - 1);
            for (int x = 0; x < r; x++)
            {
                int sx = Math.Clamp(x - dx, 0, r - 1);
                target[y * r + x] = source[sy * r + (flip ? r - 1 - sx : sx)];
            }
        }
    }
}
