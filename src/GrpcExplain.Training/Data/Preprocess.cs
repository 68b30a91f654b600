using GrpcExplain.Classifiers;
using SixLabors.ImageSharp;

namespace GrpcExplain.Training.Data;

/// <summary>How an image is brought to the model's square resolution.</summary>
public enum CropMode
{
    /// <summary>The central resolution x resolution pixels, no resampling (pcam: the label concerns the centre); smaller images are an error.</summary>
    CenterCrop,

    /// <summary>The largest central square, resized to the resolution (bicubic, area-aware when shrinking).</summary>
    Resize,
}

/// <summary>What every image of a training set is turned into: square, grey (1) or RGB (3) channels.</summary>
public sealed record PreprocessOptions
{
    public PreprocessOptions(int resolution, int channels, CropMode crop)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resolution, 1);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 (grey) or 3 (RGB).");
        Resolution = resolution;
        Channels = channels;
        Crop = crop;
    }

    public int Resolution { get; }

    public int Channels { get; }

    public CropMode Crop { get; }

    /// <summary>Bytes of one preprocessed image: channels x resolution x resolution.</summary>
    public int ImageBytes => Channels * Resolution * Resolution;
}

/// <summary>
/// Images to the model's input: square at the model's resolution, grey or RGB, as uint8 planes (C, H, W),
/// and from those to float NCHW in [-1, 1] (x / 127.5 - 1, as stylegan2-ada's training loop scales them).
/// Colour to grey is ImageSharp's L8 conversion (BT.709 luminance); grey to RGB repeats the value.
/// </summary>
public static class Preprocess
{
    /// <summary>The image as C x R x R uint8 planes.</summary>
    public static byte[] ToPlanes(Image image, PreprocessOptions options)
    {
        var planes = new byte[options?.ImageBytes ?? throw new ArgumentNullException(nameof(options))];
        ToPlanes(image, options, planes);
        return planes;
    }

    /// <summary>Writes the image as C x R x R uint8 planes into <paramref name="planes"/>.</summary>
    public static void ToPlanes(Image image, PreprocessOptions options, Span<byte> planes)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        if (planes.Length != options.ImageBytes) throw new ArgumentException($"planes hold {planes.Length} bytes, the options make {options.ImageBytes}.", nameof(planes));
        // The same geometry and colour conversion as a classifier's input files (classify, the coordinator):
        // one implementation, so a model sees at inference what it saw in training.
        var fit = options.Crop == CropMode.CenterCrop ? ImageFit.CenterCrop : ImageFit.Resize;
        InputImages.ToPlanes(image, options.Channels, options.Resolution, options.Resolution, fit, planes);
    }

    /// <summary>uint8 values to [-1, 1]: x / 127.5 - 1.</summary>
    public static void ToFloat(ReadOnlySpan<byte> pixels, Span<float> values)
    {
        if (values.Length != pixels.Length) throw new ArgumentException($"{values.Length} floats for {pixels.Length} bytes.", nameof(values));
        for (int i = 0; i < pixels.Length; i++) values[i] = pixels[i] / 127.5f - 1f;
    }

    /// <summary>[-1, 1] back to uint8 as an image file would store it: round((x + 1) x 127.5), clamped.</summary>
    public static void ToBytes(ReadOnlySpan<float> values, Span<byte> pixels)
    {
        if (values.Length != pixels.Length) throw new ArgumentException($"{pixels.Length} bytes for {values.Length} floats.", nameof(pixels));
        for (int i = 0; i < values.Length; i++)
        {
            float v = MathF.Round((values[i] + 1f) * 127.5f);
            pixels[i] = float.IsNaN(v) ? (byte)0 : (byte)Math.Clamp(v, 0f, 255f);
        }
    }
}
