using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Training.Tests.Data;

/// <summary>Small images and archives the tests write themselves (never real data), in a temporary folder.</summary>
internal sealed class SyntheticImages : IDisposable
{
    public SyntheticImages()
    {
        Root = Path.Combine(Path.GetTempPath(), "grpcexplain-training-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>A grey image whose pixel (x, y) is (seed + 7x + 13y) mod 256.</summary>
    public static Image<L8> Grey(int width, int height, int seed = 0)
    {
        var image = new Image<L8>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                image[x, y] = new L8((byte)((seed + 7 * x + 13 * y) & 255));
        return image;
    }

    /// <summary>An RGB image with a different ramp in each channel.</summary>
    public static Image<Rgb24> Rgb(int width, int height, int seed = 0)
    {
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                image[x, y] = new Rgb24((byte)((seed + 5 * x) & 255), (byte)((seed + 11 * y) & 255), (byte)((seed + 3 * x + 2 * y) & 255));
        return image;
    }

    public string Save(Image image, params string[] parts)
    {
        string path = Path.Combine([Root, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (path.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) image.Save(path, new PngEncoder());
        else image.Save(path, new JpegEncoder { Quality = 95 });
        return path;
    }

    /// <summary>A .npy of uint8 or int64 data with NumPy's version 1.0 header.</summary>
    public static byte[] Npy(string descr, int[] shape, byte[] data)
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int padding = 64 - (10 + dict.Length + 1) % 64;
        byte[] header = Encoding.Latin1.GetBytes(dict + new string(' ', padding) + "\n");
        using var stream = new MemoryStream();
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        stream.Write(length);
        stream.Write(header);
        stream.Write(data);
        return stream.ToArray();
    }

    public static byte[] Int64(IEnumerable<long> values)
    {
        var list = values.ToList();
        var bytes = new byte[8 * list.Count];
        for (int i = 0; i < list.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), list[i]);
        return bytes;
    }

    /// <summary>An .npz (a deflated zip) of the given arrays, named without their .npy ending.</summary>
    public string Npz(string name, params (string Name, byte[] Npy)[] arrays)
    {
        string path = Path.Combine(Root, name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (entryName, npy) in arrays)
        {
            using var s = zip.CreateEntry(entryName + ".npy", CompressionLevel.Fastest).Open();
            s.Write(npy);
        }
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is harmless.
        }
    }
}
