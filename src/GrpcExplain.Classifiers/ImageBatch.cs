namespace GrpcExplain.Classifiers;

/// <summary>
/// Images as the system keeps them: float32, NCHW, contiguous, values in [-1, 1] (a generator's
/// images may stray slightly outside; preprocessing clamps where the model's input type needs it).
/// </summary>
public sealed class ImageBatch
{
    public ImageBatch(float[] pixels, int count, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (count < 1 || channels < 1 || height < 1 || width < 1)
        {
            throw new ArgumentException($"An image batch needs positive dimensions, got N={count}, C={channels}, H={height}, W={width}.");
        }
        if ((long)count * channels * height * width != pixels.Length)
        {
            throw new ArgumentException($"{pixels.Length} pixels do not make {count}x{channels}x{height}x{width} images.", nameof(pixels));
        }
        Pixels = pixels;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
    }

    public float[] Pixels { get; }

    public int Count { get; }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>Values in one image: C*H*W.</summary>
    public int ImageLength => Channels * Height * Width;

    public ReadOnlySpan<float> Image(int index) => Pixels.AsSpan(index * ImageLength, ImageLength);
}
