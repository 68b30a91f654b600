using GrpcExplain.Classifiers;
using GrpcExplain.Cli.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Explain;

/// <summary>
/// Images at the edge of an in-process explanation: the input file to one [1, C, res, res] image in
/// [-1, 1] (8-bit v → v / 127.5 − 1, fitted as the services fit files), and [-1, 1] images to PNG bytes with
/// the generator's mapping (<see cref="ImageFiles.ToByte"/>), so files agree with the services' PNGs.
/// </summary>
internal static class ExplainImages
{
    /// <summary>
    /// The image as the generator's images are: a file of another size is fitted as <paramref name="fit"/> says
    /// (<see cref="InputImages"/>, the classifiers' own reader); colour becomes grey (or grey RGB) as needed.
    /// </summary>
    public static ImageBatch Read(string path, int channels, int resolution, ImageFit fit)
    {
        if (channels is not (1 or 3)) throw new UsageException($"the generator makes {channels}-channel images, which PNG and JPEG files do not hold.");
        Image file;
        try
        {
            file = Image.Load(path);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or ImageFormatException or NotSupportedException)
        {
            throw new UsageException($"IMAGE '{path}' is not a readable PNG or JPEG file: {e.Message}");
        }
        using (file)
        {
            try
            {
                return new ImageBatch(InputImages.FromImage(file, channels, resolution, resolution, fit), 1, channels, resolution, resolution);
            }
            catch (InvalidDataException e)
            {
                throw new UsageException($"IMAGE '{path}' cannot be fitted to the generator's {resolution}x{resolution} images: {e.Message}");
            }
        }
    }

    public static byte[] Png(ImageBatch image, int index = 0) => Png(image.Image(index), image.Channels, image.Height, image.Width);

    public static byte[] Png(ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        var hwc = ImageFiles.ToInterleavedBytes(chw, channels, height, width);
        using Image image = channels == 1 ? Image.LoadPixelData<L8>(hwc, width, height) : Image.LoadPixelData<Rgb24>(hwc, width, height);
        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder());
        return stream.ToArray();
    }
}
