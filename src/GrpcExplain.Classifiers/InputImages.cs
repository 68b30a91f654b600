using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace GrpcExplain.Classifiers;

/// <summary>
/// Image files as they come (PNG or JPEG, any size, grey or colour) to the image a model wants, as its
/// <see cref="ClassifierConfig"/> says: the config's <see cref="ImageFit"/> brings the file to the input's
/// height x width, colour becomes grey by ImageSharp's L8 conversion (BT.709 luminance) and grey becomes
/// RGB by repeating the value, and 8-bit levels v become v / 127.5 − 1, the system's [-1, 1] (the
/// normalisation of <see cref="Preprocessing"/> follows). The one implementation of this for
/// <c>grpcexplain classify</c> and for training sets.
/// </summary>
public static class InputImages
{
    /// <summary>The file at <paramref name="path"/> as one [C, H, W] image in [-1, 1]; InvalidDataException names the file and what is wrong.</summary>
    public static float[] Read(string path, ClassifierConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Image image;
        try
        {
            image = Image.Load(path);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or ImageFormatException or NotSupportedException)
        {
            // One line: ImageSharp's unknown-format message goes on to list every decoder it has.
            string why = e is UnknownImageFormatException ? "its format is not one an image decoder recognises" : e.Message.Split('\n')[0].Trim();
            throw new InvalidDataException($"{path}: not a readable PNG or JPEG image: {why}", e);
        }
        using (image)
        {
            try
            {
                return FromImage(image, config.Input.Channels, config.Input.Height, config.Input.Width, config.Fit);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
        }
    }

    /// <summary>A decoded image as one [C, H, W] image in [-1, 1].</summary>
    public static float[] FromImage(Image image, int channels, int height, int width, ImageFit fit)
    {
        var planes = new byte[channels * height * width];
        ToPlanes(image, channels, height, width, fit, planes);
        var values = new float[planes.Length];
        for (int i = 0; i < planes.Length; i++) values[i] = planes[i] / 127.5f - 1f;
        return values;
    }

    /// <summary>A decoded image fitted to height x width, as C planes of 8-bit levels [C, H, W] (C = 1 or 3).</summary>
    public static void ToPlanes(Image image, int channels, int height, int width, ImageFit fit, Span<byte> planes)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "image files give 1 (grey) or 3 (RGB) channels.");
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (planes.Length != channels * height * width)
            throw new ArgumentException($"planes hold {planes.Length} bytes, {channels}x{height}x{width} needs {channels * height * width}.", nameof(planes));
        if (channels == 1)
        {
            using var grey = image.CloneAs<L8>();
            Fit(grey, height, width, fit);
            grey.CopyPixelDataTo(planes);
            return;
        }
        using var rgb = image.CloneAs<Rgb24>();
        Fit(rgb, height, width, fit);
        int plane = height * width;
        var pixels = new Rgb24[plane];
        rgb.CopyPixelDataTo(pixels);
        for (int i = 0; i < plane; i++)
        {
            planes[i] = pixels[i].R;
            planes[plane + i] = pixels[i].G;
            planes[2 * plane + i] = pixels[i].B;
        }
    }

    private static void Fit<TPixel>(Image<TPixel> image, int height, int width, ImageFit fit)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        int w = image.Width, h = image.Height;
        if (w == width && h == height) return;
        if (fit == ImageFit.CenterCrop)
        {
            if (w < width || h < height)
                throw new InvalidDataException($"a {w}x{h} image is smaller than the model's {width}x{height} input, which center_crop takes from the image's centre without resampling.");
            image.Mutate(x => x.Crop(new Rectangle((w - width) / 2, (h - height) / 2, width, height)));
            return;
        }
        // The largest central region with the input's aspect ratio: all of one dimension, the middle of the other.
        var (cw, ch) = (long)w * height >= (long)h * width ? ((int)Math.Max(1, Math.Round((double)h * width / height)), h) : (w, (int)Math.Max(1, Math.Round((double)w * height / width)));
        image.Mutate(x =>
        {
            if (cw != w || ch != h) x.Crop(new Rectangle((w - cw) / 2, (h - ch) / 2, cw, ch));
            if (cw != width || ch != height) x.Resize(width, height, KnownResamplers.Bicubic);
        });
    }
}
