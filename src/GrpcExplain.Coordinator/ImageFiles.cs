using GrpcExplain.Classifiers;
using GrpcExplain.Protos.V1;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using ProtoImage = GrpcExplain.Protos.V1.Image;
using ProtoImageFit = GrpcExplain.Protos.V1.ImageFit;
using ImageFit = GrpcExplain.Classifiers.ImageFit;

namespace GrpcExplain.Coordinator;

/// <summary>
/// Images at the coordinator's edge: a request's PNG, JPEG or raw tensor to the system's [-1, 1] NCHW
/// floats (8-bit v → v / 127.5 − 1), and frames and heat maps to PNG with the generator's mapping
/// (clamp(x × 127.5 + 128, 0, 255) truncated), so our frames and the generator's PNGs agree. Files of
/// another size are fitted as the request's image_fit says, or else as the classifier was trained.
/// </summary>
internal static class ImageFiles
{
    /// <summary>
    /// The request's image as one [1, channels, res, res] image; null (and violations) when it is missing,
    /// unreadable or cannot be fitted. <paramref name="fit"/> brings a file of another size to res x res as
    /// <see cref="InputImages"/> does for classifiers; raw values must have the size. Files of more than
    /// <paramref name="maxPixels"/> pixels are refused by their header, before they are decoded.
    /// </summary>
    public static ImageBatch? Read(ProtoImage? image, string field, int channels, int resolution, ImageFit fit, long maxPixels, BadRequestBuilder errors)
    {
        switch (image?.SourceCase ?? ProtoImage.SourceOneofCase.None)
        {
            case ProtoImage.SourceOneofCase.Encoded:
                return Decode(image!.Encoded, $"{field}.encoded", channels, resolution, fit, maxPixels, errors);
            case ProtoImage.SourceOneofCase.Tensor:
                var tensor = image!.Tensor;
                long[] shape = [.. tensor.Shape];
                bool fits = shape.SequenceEqual(new long[] { channels, resolution, resolution }) || shape.SequenceEqual(new long[] { 1, channels, resolution, resolution });
                if (!fits)
                {
                    errors.Add($"{field}.tensor.shape", $"[{string.Join(", ", shape)}] does not fit the generator: expected [{channels}, {resolution}, {resolution}] (or with a leading 1); " +
                        "image_fit applies to PNG and JPEG files only.");
                    return null;
                }
                return TensorMessages.Values(tensor, $"{field}.tensor", errors) is { } values ? new ImageBatch(values, 1, channels, resolution, resolution) : null;
            default:
                errors.Add(field, "is missing: give a PNG or JPEG file (encoded) or raw values (tensor).");
                return null;
        }
    }

    /// <summary>The image_fit field: null when unset (then the classifier's own fit applies).</summary>
    public static ImageFit? Fit(ProtoImageFit fit, BadRequestBuilder errors)
    {
        switch (fit)
        {
            case ProtoImageFit.Unspecified: return null;
            case ProtoImageFit.Resize: return ImageFit.Resize;
            case ProtoImageFit.CenterCrop: return ImageFit.CenterCrop;
            default:
                errors.Add("image_fit", $"{(int)fit} is not an ImageFit: say IMAGE_FIT_RESIZE or IMAGE_FIT_CENTER_CROP, or leave it unset.");
                return null;
        }
    }

    private static ImageBatch? Decode(EncodedImage encoded, string field, int channels, int resolution, ImageFit fit, long maxPixels, BadRequestBuilder errors)
    {
        if (encoded.Format is not (ImageFormat.Png or ImageFormat.Jpeg))
        {
            errors.Add($"{field}.format", $"{encoded.Format} is not a format: say IMAGE_FORMAT_PNG or IMAGE_FORMAT_JPEG.");
            return null;
        }
        if (channels is not (1 or 3))
        {
            errors.Add(field, $"the generator makes {channels}-channel images, which PNG and JPEG files do not hold: send a tensor.");
            return null;
        }
        try
        {
            var decoder = encoded.Format == ImageFormat.Png ? (SixLabors.ImageSharp.Formats.IImageDecoder)new PngDecoder() : new SixLabors.ImageSharp.Formats.Jpeg.JpegDecoder();
            byte[] bytes = encoded.Data.ToByteArray();
            var header = SixLabors.ImageSharp.Image.Identify(bytes)
                ?? throw new UnknownImageFormatException("its header is not one an image decoder recognises");
            if ((long)header.Width * header.Height > maxPixels)
            {
                errors.Add($"{field}.data", $"is {header.Width}x{header.Height} pixels, more than the {maxPixels} the coordinator decodes: resize it first.");
                return null;
            }
            using var file = SixLabors.ImageSharp.Image.Load(bytes, decoder);
            var pixels = InputImages.FromImage(file, channels, resolution, resolution, fit);
            return new ImageBatch(pixels, 1, channels, resolution, resolution);
        }
        catch (InvalidDataException e)
        {
            errors.Add(field, $"cannot be fitted to the generator's {resolution}x{resolution} images: {e.Message}");
            return null;
        }
        catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException or InvalidImageContentException or NotSupportedException)
        {
            errors.Add($"{field}.data", $"is not a readable {(encoded.Format == ImageFormat.Png ? "PNG" : "JPEG")} file: {e.Message}");
            return null;
        }
    }

    /// <summary>One image [C, H, W] in [-1, 1] (C = 1 or 3) as a PNG file.</summary>
    public static byte[] Png(ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        int plane = height * width;
        var interleaved = new byte[chw.Length];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++) interleaved[i * channels + c] = (byte)Math.Clamp(chw[c * plane + i] * 127.5f + 128f, 0f, 255f);
        using SixLabors.ImageSharp.Image image = channels == 1
            ? SixLabors.ImageSharp.Image.LoadPixelData<L8>(interleaved, width, height)
            : SixLabors.ImageSharp.Image.LoadPixelData<Rgb24>(interleaved, width, height);
        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder());
        return stream.ToArray();
    }

    public static byte[] Png(ImageBatch image, int index = 0) => Png(image.Image(index), image.Channels, image.Height, image.Width);
}
