using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Generator;

/// <summary>
/// The generator's [-1, 1] images as 8-bit PNGs, mapped as NVIDIA's generate.py does
/// (<c>(x * 127.5 + 128).clamp(0, 255).to(torch.uint8)</c>), the same bytes <c>grpcexplain synthesize</c> writes.
/// </summary>
internal static class PngImages
{
    public static bool CanEncode(int channels) => channels is 1 or 3 or 4;

    /// <summary>One image [C, H, W] → a PNG file's bytes (grey, RGB or RGBA).</summary>
    public static byte[] Encode(ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        int plane = height * width;
        var hwc = new byte[chw.Length];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
            {
                // float32 arithmetic, clamped, truncated towards zero, as torch's uint8 cast.
                float v = chw[c * plane + i] * 127.5f + 128f;
                hwc[i * channels + c] = (byte)Math.Clamp(v, 0f, 255f);
            }
        using Image image = channels switch
        {
            1 => Image.LoadPixelData<L8>(hwc, width, height),
            3 => Image.LoadPixelData<Rgb24>(hwc, width, height),
            4 => Image.LoadPixelData<Rgba32>(hwc, width, height),
            _ => throw new ArgumentOutOfRangeException(nameof(channels), channels, "PNG images have 1, 3 or 4 channels."),
        };
        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder());
        return stream.ToArray();
    }
}
