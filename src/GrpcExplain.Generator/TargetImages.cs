using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using ProtoImage = GrpcExplain.Protos.V1.Image;
using SharpImage = SixLabors.ImageSharp.Image;

namespace GrpcExplain.Generator;

/// <summary>
/// A request's image as the generator's [C, res, res] values in [-1, 1]: a PNG or JPEG file (8-bit
/// v → v / 127.5 − 1) or a raw tensor. Nothing is resized or converted: the size and the colour type
/// must be the generator's. A file is checked by its size in bytes, then by its header (format, width
/// and height against <see cref="GeneratorServiceOptions.MaxImagePixels"/> and the generator, colour
/// type) before a pixel is decoded.
/// </summary>
internal static class TargetImages
{
    /// <summary>PNG and JPEG only: no other decoder sees a request's bytes.</summary>
    private static readonly Configuration Decoders = new(new PngConfigurationModule(), new JpegConfigurationModule());

    public static float[]? Read(ProtoImage? image, string field, GeneratorConfig config, GeneratorServiceOptions options, RequestErrors errors)
    {
        switch (image?.SourceCase ?? ProtoImage.SourceOneofCase.None)
        {
            case ProtoImage.SourceOneofCase.Encoded:
                return Decode(image!.Encoded, $"{field}.encoded", config, options, errors);
            case ProtoImage.SourceOneofCase.Tensor:
                return FromTensor(image!.Tensor, $"{field}.tensor", config, errors);
            default:
                errors.Add(field, "is missing: give a PNG or JPEG file (encoded) or raw values in [-1, 1] (tensor).");
                return null;
        }
    }

    private static float[]? FromTensor(Tensor tensor, string field, GeneratorConfig config, RequestErrors errors)
    {
        int c = config.ImgChannels, res = config.ImgResolution;
        var read = TensorCodec.Read(tensor, field, errors, s =>
            s.SequenceEqual([c, res, res]) || s.SequenceEqual([1L, c, res, res]) ? null
                : $"{TensorCodec.ShapeText(s)} does not fit this generator: expected [image_channels, res, res] = [{c}, {res}, {res}] (or [1, {c}, {res}, {res}]); images are not resized.");
        if (read is not { } r) return null;
        int outside = Array.FindIndex(r.Values, v => v is < -1f or > 1f);
        if (outside >= 0)
        {
            errors.Add($"{field}.data", $"holds {r.Values[outside]} at element {outside}, outside [-1, 1]: scale 8-bit values v as v / 127.5 − 1.");
            return null;
        }
        return r.Values;
    }

    private static float[]? Decode(EncodedImage encoded, string field, GeneratorConfig config, GeneratorServiceOptions options, RequestErrors errors)
    {
        string? declared = encoded.Format switch { ImageFormat.Png => "PNG", ImageFormat.Jpeg => "JPEG", _ => null };
        if (declared is null)
        {
            errors.Add($"{field}.format", encoded.Format == ImageFormat.Unspecified ? "is not set: say IMAGE_FORMAT_PNG or IMAGE_FORMAT_JPEG."
                : $"{(int)encoded.Format} is not an ImageFormat: say IMAGE_FORMAT_PNG or IMAGE_FORMAT_JPEG.");
            return null;
        }
        if (encoded.Data.Length == 0 || encoded.Data.Length > options.MaxEncodedImageBytes)
        {
            errors.Add($"{field}.data", encoded.Data.Length == 0 ? "is empty." : $"holds {encoded.Data.Length} bytes, more than the {options.MaxEncodedImageBytes} an image file may have.");
            return null;
        }
        var bytes = encoded.Data.ToByteArray();
        try
        {
            var info = SharpImage.Identify(Decoders, bytes, out IImageFormat? format);
            if (info is null || format is null)
            {
                errors.Add($"{field}.data", $"is not a {declared} file (nor any image file the service reads).");
                return null;
            }
            if (format.Name != declared)
            {
                errors.Add($"{field}.data", $"is a {format.Name} file, but format says {declared}.");
                return null;
            }
            int res = config.ImgResolution, channels = config.ImgChannels;
            if ((long)info.Width * info.Height > options.MaxImagePixels)
            {
                errors.Add($"{field}.data", $"is {info.Width}x{info.Height} pixels, more than the {options.MaxImagePixels} the service decodes.");
                return null;
            }
            if (info.Width != res || info.Height != res)
            {
                errors.Add($"{field}.data", $"is {info.Width}x{info.Height} pixels; this generator's images are {res}x{res}: resize it first (the service does not).");
                return null;
            }
            var (fileChannels, colourType) = Channels(info, format);
            if (fileChannels != channels)
            {
                errors.Add($"{field}.data", $"is a {colourType} {declared} ({fileChannels} channel{(fileChannels == 1 ? "" : "s")}); this generator's images have {channels}: convert it first.");
                return null;
            }
            return channels switch
            {
                1 => Pixels<L8>(bytes, res, (p, _) => p.PackedValue),
                3 => Pixels<Rgb24>(bytes, res, (p, c) => c == 0 ? p.R : c == 1 ? p.G : p.B, 3),
                _ => Pixels<Rgba32>(bytes, res, (p, c) => c == 0 ? p.R : c == 1 ? p.G : c == 2 ? p.B : p.A, 4),
            };
        }
        catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException or InvalidImageContentException or NotSupportedException)
        {
            errors.Add($"{field}.data", $"is not a readable {declared} file: {e.Message}");
            return null;
        }
    }

    /// <summary>The channels a file holds by its header: grey 1, grey with alpha 2, RGB or palette 3, RGBA 4; a JPEG is grey or colour.</summary>
    private static (int Channels, string ColourType) Channels(IImageInfo info, IImageFormat format)
    {
        if (format.Name == "JPEG")
            return info.Metadata.GetJpegMetadata().ColorType == JpegColorType.Luminance ? (1, "grey") : (3, "colour");
        return info.Metadata.GetPngMetadata().ColorType switch
        {
            PngColorType.Grayscale => (1, "grey"),
            PngColorType.GrayscaleWithAlpha => (2, "grey-with-alpha"),
            PngColorType.RgbWithAlpha => (4, "RGBA"),
            PngColorType.Palette => (3, "palette"),
            _ => (3, "RGB"),
        };
    }

    private static float[] Pixels<TPixel>(byte[] bytes, int res, Func<TPixel, int, byte> channel, int channels = 1)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var image = SharpImage.Load<TPixel>(Decoders, bytes);
        var values = new float[channels * res * res];
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                    for (int c = 0; c < channels; c++) values[(c * res + y) * res + x] = channel(row[x], c) / 127.5f - 1f;
            }
        });
        return values;
    }
}
