using GrpcExplain.Kernels;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Cli.IO;

/// <summary>
/// NumPy's .npy format, float32 only: the magic <c>\x93NUMPY</c>, a version (1.0: 2-byte header
/// length; 2.0: 4-byte), an ASCII Python dict <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (N, D), }</c>
/// padded with spaces to a multiple of 64 bytes and ended by a newline, then the raw data.
/// Anything but little-endian float32 in C order is refused with a message saying what to change.
/// </summary>
internal static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private const int Alignment = 64;

    public static HostTensor Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads a whole .npy from a seekable stream; errors start with <paramref name="source"/>.</summary>
    public static HostTensor Read(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var prefix = new byte[8];
        if (stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8 || !prefix.AsSpan(0, 6).SequenceEqual(Magic))
            throw Error(source, "not a NumPy .npy file (it does not start with \\x93NUMPY).");
        int major = prefix[6], minor = prefix[7];
        if (major is not (1 or 2) || minor != 0)
            throw Error(source, $"unsupported .npy format version {major}.{minor} (this reader takes 1.0 and 2.0).");
        var lengthBytes = new byte[major == 1 ? 2 : 4];
        if (stream.ReadAtLeast(lengthBytes, lengthBytes.Length, throwOnEndOfStream: false) < lengthBytes.Length)
            throw Error(source, "truncated inside its header.");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(lengthBytes) : BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (headerLength > 1 << 20) throw Error(source, $"header length {headerLength} is not plausible.");
        var header = new byte[headerLength];
        if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            throw Error(source, "truncated inside its header.");

        var (descr, fortranOrder, shape) = NpyHeader.Parse(Encoding.Latin1.GetString(header), source);
        if (descr != "<f4") throw Error(source, $"dtype '{descr}' ({NpyHeader.Describe(descr)}) is not supported: save float32 in little-endian order, e.g. np.save(path, x.astype('<f4')).");
        if (fortranOrder) throw Error(source, "the array is in Fortran order: save a C-ordered array, e.g. np.save(path, np.ascontiguousarray(x)).");
        long count = HostTensor.Count(shape);
        string shapeText = Text(shape);
        if (count > Array.MaxLength) throw Error(source, $"shape {shapeText} holds {count} values, more than one array can hold.");

        long expectedBytes = count * sizeof(float);
        long available = stream.Length - stream.Position;
        if (available < expectedBytes)
            throw Error(source, $"truncated: shape {shapeText} needs {expectedBytes} bytes of float32 data, the file has {available}.");
        if (available > expectedBytes)
            throw Error(source, $"{available - expectedBytes} bytes follow the {shapeText} float32 data; the file is not what np.save writes.");
        var data = new float[count];
        stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
        if (!BitConverter.IsLittleEndian) ReverseEndianness(data);
        return new HostTensor(shape, data);
    }

    /// <summary>Writes a whole array as .npy version 1.0 (2.0 when the header needs it), atomically.</summary>
    public static void Write(string path, HostTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var file = AtomicFile.Create(path);
        WriteHeader(file.Stream, tensor.Shape);
        WriteData(file.Stream, tensor.Data);
        file.Commit();
    }

    /// <summary>The magic, version and header for a C-ordered float32 array of this shape; the data follows.</summary>
    public static void WriteHeader(Stream stream, IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(shape);
        string dims = shape.Count == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        // As NumPy 1.24 writes it, byte for byte: room for axis 0 to grow to 21 digits in place, then
        // 1 to 64 spaces so that the data starts on a 64-byte boundary.
        if (shape.Count > 0) dict += new string(' ', Math.Max(0, 21 - shape[0].ToString(CultureInfo.InvariantCulture).Length));
        int major = Magic.Length + 2 + 2 + dict.Length + 1 + Alignment <= ushort.MaxValue ? 1 : 2;
        int prefixLength = Magic.Length + 2 + (major == 1 ? 2 : 4);
        int padding = Alignment - (prefixLength + dict.Length + 1) % Alignment;
        var header = Encoding.Latin1.GetBytes(dict + new string(' ', padding) + "\n");

        stream.Write(Magic);
        stream.Write([(byte)major, 0]);
        Span<byte> length = stackalloc byte[4];
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)header.Length);
        stream.Write(length[..(major == 1 ? 2 : 4)]);
        stream.Write(header);
    }

    /// <summary>Appends float32 values in little-endian order.</summary>
    public static void WriteData(Stream stream, ReadOnlySpan<float> values)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        var swapped = values.ToArray();
        ReverseEndianness(swapped);
        stream.Write(MemoryMarshal.AsBytes(swapped.AsSpan()));
    }

    public static string Text(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";

    private static void ReverseEndianness(float[] values)
    {
        var bits = MemoryMarshal.Cast<float, uint>(values.AsSpan());
        BinaryPrimitives.ReverseEndianness(bits, bits);
    }

    private static InvalidDataException Error(string source, string message) => new($"{source}: {message}");
}
