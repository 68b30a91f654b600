using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.IO;

/// <summary>
/// The generator's [-1, 1] images as 8-bit PNGs, mapped as NVIDIA's generate.py does:
/// <c>(x * 127.5 + 128).clamp(0, 255).to(torch.uint8)</c>; grey for one channel, RGB for three, RGBA for four.
/// </summary>
internal static class ImageFiles
{
    public static bool CanWrite(int channels) => channels is 1 or 3 or 4;

    /// <summary>One value as generate.py maps it: float32 arithmetic, clamped, truncated towards zero (NaN → 0).</summary>
    public static byte ToByte(float x)
    {
        float v = x * 127.5f + 128f;
        return float.IsNaN(v) ? (byte)0 : (byte)Math.Clamp(v, 0f, 255f);
    }

    /// <summary>One image [C, H, W] → interleaved bytes [H, W, C].</summary>
    public static byte[] ToInterleavedBytes(ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        int plane = height * width;
        if (chw.Length != channels * plane)
            throw new ArgumentException($"{chw.Length} values are not one [{channels}, {height}, {width}] image.", nameof(chw));
        var bytes = new byte[chw.Length];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
                bytes[i * channels + c] = ToByte(chw[c * plane + i]);
        return bytes;
    }

    /// <summary>Writes interleaved bytes [H, W, C] as a PNG, atomically.</summary>
    public static void WritePng(string path, ReadOnlySpan<byte> hwc, int channels, int height, int width)
    {
        using var image = Load(hwc, channels, height, width);
        using var file = AtomicFile.Create(path);
        image.Save(file.Stream, new PngEncoder());
        file.Commit();
    }

    private static Image Load(ReadOnlySpan<byte> hwc, int channels, int height, int width) => channels switch
    {
        1 => Image.LoadPixelData<L8>(hwc, width, height),
        3 => Image.LoadPixelData<Rgb24>(hwc, width, height),
        4 => Image.LoadPixelData<Rgba32>(hwc, width, height),
        _ => throw new ArgumentOutOfRangeException(nameof(channels), channels, "PNG images have 1, 3 or 4 channels."),
    };
}

/// <summary>
/// All images of a run side by side: a near-square grid, row by row in the order of the latents,
/// cells that no image fills left black.
/// </summary>
internal sealed class ImageGrid
{
    private readonly int _channels, _height, _width;
    private readonly byte[] _pixels;

    public ImageGrid(int count, int channels, int height, int width)
    {
        (_channels, _height, _width) = (channels, height, width);
        Columns = Math.Max(1, (int)Math.Ceiling(Math.Sqrt(count)));
        Rows = Math.Max(1, (count + Columns - 1) / Columns);
        long bytes = (long)Rows * height * Columns * width * channels;
        if (bytes > Array.MaxLength) throw new InvalidOperationException($"A grid of {count} images would be too large for one PNG; write fewer images per run.");
        _pixels = new byte[bytes];
    }

    public int Columns { get; }
    public int Rows { get; }
    public int Width => Columns * _width;
    public int Height => Rows * _height;

    /// <summary>Copies image <paramref name="index"/> (interleaved [H, W, C]) into its cell.</summary>
    public void Place(int index, ReadOnlySpan<byte> hwc)
    {
        int row = index / Columns, column = index % Columns;
        int rowBytes = _width * _channels;
        for (int y = 0; y < _height; y++)
            hwc.Slice(y * rowBytes, rowBytes).CopyTo(_pixels.AsSpan(((row * _height + y) * Width + column * _width) * _channels));
    }

    public void WritePng(string path) => ImageFiles.WritePng(path, _pixels, _channels, Height, Width);
}
