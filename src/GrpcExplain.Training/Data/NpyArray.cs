using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace GrpcExplain.Training.Data;

/// <summary>
/// One array of a NumPy .npy file as raw bytes: its dtype string (<c>|u1</c>, <c>&lt;i8</c>, ...), its
/// shape and its C-ordered data. Integer dtypes only, which is what MedMNIST stores; the CLI's float32
/// reader (GrpcExplain.Cli.IO.Npy) reads the same container for latents.
/// </summary>
internal sealed partial class NpyArray
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private NpyArray(string descr, int[] shape, byte[] data)
    {
        Descr = descr;
        Shape = shape;
        Data = data;
    }

    public string Descr { get; }

    public int[] Shape { get; }

    public byte[] Data { get; }

    public long Count => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>Reads a whole .npy from <paramref name="stream"/> (need not be seekable); errors start with <paramref name="source"/>.</summary>
    public static NpyArray Read(Stream stream, string source)
    {
        var prefix = new byte[10];
        if (stream.ReadAtLeast(prefix, 10, throwOnEndOfStream: false) < 10 || !prefix.AsSpan(0, 6).SequenceEqual(Magic))
            throw Error(source, "not a NumPy .npy array (no \\x93NUMPY magic).");
        int headerLength;
        if (prefix[6] == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix.AsSpan(8));
        }
        else if (prefix[6] is 2 or 3)
        {
            var more = new byte[2];
            stream.ReadExactly(more);
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian([prefix[8], prefix[9], more[0], more[1]]));
        }
        else
        {
            throw Error(source, $".npy format version {prefix[6]}.{prefix[7]} is not one this reader knows (1, 2, 3).");
        }
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        string text = Encoding.Latin1.GetString(header);

        var descr = DescrPattern().Match(text);
        var fortran = FortranPattern().Match(text);
        var shape = ShapePattern().Match(text);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw Error(source, $"malformed .npy header: {text.TrimEnd()}");
        if (fortran.Groups[1].Value == "True")
            throw Error(source, "the array is in Fortran order; save a C-ordered array (np.ascontiguousarray).");
        int[] dims = [.. shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => int.Parse(d, NumberStyles.None, CultureInfo.InvariantCulture))];
        string dtype = descr.Groups[1].Value;
        int itemSize = ItemSize(dtype) ?? throw Error(source, $"dtype '{dtype}' is not an integer type this reader takes (u1, i1, and little-endian u2/i2/u4/i4/u8/i8).");

        long bytes = dims.Aggregate(1L, (a, d) => a * d) * itemSize;
        if (bytes > Array.MaxLength) throw Error(source, $"shape ({string.Join(", ", dims)}) is too large for one array.");
        var data = new byte[bytes];
        if (stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) < data.Length)
            throw Error(source, $"truncated: shape ({string.Join(", ", dims)}) of {dtype} needs {bytes} bytes of data.");
        return new NpyArray(dtype, dims, data);
    }

    /// <summary>Element <paramref name="i"/> as a 64-bit integer, whatever the integer dtype.</summary>
    public long Int(long i) => Descr[1..] switch
    {
        "u1" => Data[i],
        "i1" => (sbyte)Data[i],
        "u2" => BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan((int)(i * 2))),
        "i2" => BinaryPrimitives.ReadInt16LittleEndian(Data.AsSpan((int)(i * 2))),
        "u4" => BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan((int)(i * 4))),
        "i4" => BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan((int)(i * 4))),
        "u8" => checked((long)BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan((int)(i * 8)))),
        _ => BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan((int)(i * 8))),
    };

    private static int? ItemSize(string descr) => descr switch
    {
        "|u1" or "<u1" or "|i1" or "<i1" => 1,
        "<u2" or "<i2" => 2,
        "<u4" or "<i4" => 4,
        "<u8" or "<i8" => 8,
        _ => null,
    };

    private static InvalidDataException Error(string source, string message) => new($"{source}: {message}");

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([0-9,\s]*)\)")]
    private static partial Regex ShapePattern();
}
