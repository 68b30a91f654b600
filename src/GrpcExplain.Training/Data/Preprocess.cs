using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

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
        int r = options.Resolution;
        if (options.Channels == 1)
        {
            using var grey = image.CloneAs<L8>();
            Square(grey, options);
            grey.CopyPixelDataTo(planes);
            return;
        }
        using var rgb = image.CloneAs<Rgb24>();
        Square(rgb, options);
        var pixels = new Rgb24[r * r];
        rgb.CopyPixelDataTo(pixels);
        int plane = r * r;
        for (int i = 0; i < plane; i++)
        {
            planes[i] = pixels[i].R;
            planes[plane + i] = pixels[i].G;
            planes[2 * plane + i] = pixels[i].B;
        }
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

    private static void Square<TPixel>(Image<TPixel> image, PreprocessOptions options)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        int w = image.Width, h = image.Height, r = options.Resolution;
        if (options.Crop == CropMode.CenterCrop)
        {
            if (w < r || h < r)
                throw new InvalidDataException($"a {w}x{h} image cannot be centre-cropped to {r}x{r}; use CropMode.Resize or a smaller resolution.");
            if (w != r || h != r) image.Mutate(x => x.Crop(new Rectangle((w - r) / 2, (h - r) / 2, r, r)));
            return;
        }
        int side = Math.Min(w, h);
        if (w == h && side == r) return;
        image.Mutate(x =>
        {
            if (w != h) x.Crop(new Rectangle((w - side) / 2, (h - side) / 2, side, side));
            if (side != r) x.Resize(r, r, KnownResamplers.Bicubic);
        });
    }
}
