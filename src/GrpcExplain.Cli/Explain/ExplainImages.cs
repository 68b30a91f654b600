using GrpcExplain.Classifiers;
using GrpcExplain.Cli.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Explain;

/// <summary>
/// Images at the edge of an in-process explanation: the input file to one [1, C, res, res] image in
/// [-1, 1] (8-bit v → v / 127.5 − 1, as the services read files), and [-1, 1] images to PNG bytes with
/// the generator's mapping (<see cref="ImageFiles.ToByte"/>), so files agree with the services' PNGs.
/// </summary>
internal static class ExplainImages
{
    /// <summary>The image as the generator's images are: the file's size must be the generator's; colour is converted to grey (or grey to RGB) as needed.</summary>
    public static ImageBatch Read(string path, int channels, int resolution)
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
            if (file.Width != resolution || file.Height != resolution)
                throw new UsageException($"IMAGE '{path}' is {file.Width}x{file.Height} pixels; the generator's images are {resolution}x{resolution} (resize it first).");
            var bytes = new byte[channels * resolution * resolution];
            if (channels == 1)
            {
                using var grey = file.CloneAs<L8>();
                grey.CopyPixelDataTo(bytes);
            }
            else
            {
                using var rgb = file.CloneAs<Rgb24>();
                rgb.CopyPixelDataTo(bytes);
            }
            // Interleaved [H, W, C] bytes to planar [C, H, W] floats.
            int plane = resolution * resolution;
            var pixels = new float[bytes.Length];
            for (int i = 0; i < plane; i++)
                for (int c = 0; c < channels; c++) pixels[c * plane + i] = bytes[i * channels + c] / 127.5f - 1f;
            return new ImageBatch(pixels, 1, channels, resolution, resolution);
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
