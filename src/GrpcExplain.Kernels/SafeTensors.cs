using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace GrpcExplain.Kernels;

/// <summary>The tensors and the <c>__metadata__</c> of one safetensors file.</summary>
public sealed record SafeTensorsFile(IReadOnlyDictionary<string, HostTensor> Tensors, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>
/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON
/// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then
/// the raw little-endian data. Only F32 tensors are read; anything else is named in the error.
/// </summary>
public static class SafeTensors
{
    private const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Reads the weights file at <paramref name="path"/> and builds what it holds with <paramref name="build"/>
    /// (from its metadata and tensors): a missing file is a <see cref="FileNotFoundException"/> with
    /// <paramref name="missing"/>, and an <see cref="InvalidDataException"/> from the build names the file.
    /// </summary>
    public static T Load<T>(string path, string missing, Func<SafeTensorsFile, T> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        if (!File.Exists(path)) throw new FileNotFoundException(missing, path);
        var file = Read(path);
        try
        {
            return build(file);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static SafeTensorsFile Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    public static SafeTensorsFile Read(Stream stream, string source)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new InvalidDataException($"{source}: not a safetensors file (shorter than its 8-byte header length).");
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes)
            throw new InvalidDataException($"{source}: not a safetensors file (header length {headerLength}).");
        var header = new byte[headerLength];
        if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            throw new InvalidDataException($"{source}: truncated inside its {headerLength}-byte header.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: the header is not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            Dictionary<string, string>? metadata = null;
            var entries = new List<(string Name, string Dtype, int[] Shape, long Begin, long End)>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    metadata = [];
                    foreach (var m in p.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                try
                {
                    var offsets = p.Value.GetProperty("data_offsets");
                    entries.Add((p.Name, p.Value.GetProperty("dtype").GetString()!,
                        [.. p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())],
                        offsets[0].GetInt64(), offsets[1].GetInt64()));
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException)
                {
                    throw new InvalidDataException($"{source}: tensor '{p.Name}' has a malformed header entry.", e);
                }
            }
            long dataStart = 8 + headerLength;
            long dataLength = stream.CanSeek ? stream.Length - dataStart : long.MaxValue;
            var tensors = new Dictionary<string, HostTensor>();
            foreach (var (name, dtype, shape, begin, end) in entries.OrderBy(e => e.Begin))
            {
                if (dtype != "F32")
                    throw new InvalidDataException($"{source}: tensor '{name}' is {dtype}; only F32 (float32) is supported.");
                if (shape.Any(d => d < 0))
                    throw new InvalidDataException($"{source}: tensor '{name}' has a negative dimension.");
                long count = HostTensor.Count(shape);
                if (end - begin != count * 4 || begin < 0)
                    throw new InvalidDataException($"{source}: tensor '{name}' of shape [{string.Join(", ", shape)}] needs {count * 4} bytes but its offsets span {end - begin}.");
                if (end > dataLength)
                    throw new InvalidDataException($"{source}: truncated: tensor '{name}' ends at byte {end} of the data, which has only {dataLength}.");
                if (stream.CanSeek) stream.Position = dataStart + begin;
                var data = new float[count];
                var bytes = MemoryMarshal.AsBytes(data.AsSpan());
                if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
                    throw new InvalidDataException($"{source}: truncated inside tensor '{name}'.");
                if (!BitConverter.IsLittleEndian) ReverseEach(data);
                tensors[name] = new HostTensor(shape, data);
            }
            return new SafeTensorsFile(tensors, metadata);
        }
    }

    /// <summary>Writes F32 tensors in the given order, with the metadata as the header's __metadata__.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var list = tensors.ToList();
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in list)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + 4L * t.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += 4L * t.Data.Length;
            }
            json.WriteEndObject();
        }
        // The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        var tmp = path + ".tmp";
        using (var file = File.Create(tmp))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(len, ms.Length);
            file.Write(len);
            ms.Position = 0;
            ms.CopyTo(file);
            foreach (var (_, t) in list)
            {
                var data = t.Data;
                if (!BitConverter.IsLittleEndian) { data = (float[])data.Clone(); ReverseEach(data); }
                file.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            }
        }
        // Written beside and moved, so a crash never leaves a half-written weights file under the real name.
        File.Move(tmp, path, overwrite: true);
    }

    private static void ReverseEach(float[] data)
    {
        var ints = MemoryMarshal.Cast<float, int>(data.AsSpan());
        for (int i = 0; i < ints.Length; i++) ints[i] = BinaryPrimitives.ReverseEndianness(ints[i]);
    }
}
