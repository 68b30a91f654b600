using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using GrpcExplain.Protos.V1;

namespace GrpcExplain.Generator;

/// <summary>
/// float32 arrays to and from <see cref="Tensor"/> messages (shape and little-endian bytes), with the
/// checks every tensor in a request gets: present, no empty or negative dimension, as many bytes as
/// the shape says, finite values.
/// </summary>
internal static class TensorCodec
{
    public static Tensor ToProto(ReadOnlySpan<float> values, params ReadOnlySpan<int> shape)
    {
        var tensor = new Tensor();
        foreach (int d in shape) tensor.Shape.Add(d);
        var bytes = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian) SwapFloat32(bytes);
        tensor.Data = UnsafeByteOperations.UnsafeWrap(bytes);
        return tensor;
    }

    /// <summary>The tensor's shape and values, or null after adding what is wrong to <paramref name="errors"/>.</summary>
    /// <param name="checkShape">Says what is wrong with a well-formed shape for this field, or null when it fits.</param>
    public static (long[] Shape, float[] Values)? Read(Tensor? tensor, string field, RequestErrors errors, Func<long[], string?> checkShape)
    {
        if (tensor is null)
        {
            errors.Add(field, "is missing.");
            return null;
        }
        var shape = tensor.Shape.ToArray();
        string shapeText = ShapeText(shape);
        if (shape.Any(d => d < 0))
        {
            errors.Add($"{field}.shape", $"{shapeText} has a negative dimension.");
            return null;
        }
        if (shape.Length > 0 && shape[0] == 0)
        {
            errors.Add($"{field}.shape", $"{shapeText} is an empty batch; send at least one sample.");
            return null;
        }
        if (shape.Any(d => d == 0))
        {
            errors.Add($"{field}.shape", $"{shapeText} has a dimension of 0.");
            return null;
        }
        if (checkShape(shape) is { } wrongShape)
        {
            errors.Add($"{field}.shape", wrongShape);
            return null;
        }
        // Shapes that passed checkShape are small (latents and images of a bounded batch): no overflow here.
        long count = shape.Aggregate(1L, (a, d) => a * d);
        if (tensor.Data.Length != count * sizeof(float))
        {
            errors.Add($"{field}.data", $"holds {tensor.Data.Length} bytes; shape {shapeText} needs {count * sizeof(float)} (float32, 4 bytes a value, little-endian).");
            return null;
        }
        var values = new float[count];
        tensor.Data.Span.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        if (!BitConverter.IsLittleEndian) SwapFloat32(MemoryMarshal.AsBytes(values.AsSpan()));
        int bad = Array.FindIndex(values, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            errors.Add($"{field}.data", $"holds a non-finite value ({values[bad]}) at element {bad} (sample {bad / (count / shape[0])}); every value must be finite.");
            return null;
        }
        return (shape, values);
    }

    public static string ShapeText(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    private static void SwapFloat32(Span<byte> bytes)
    {
        var words = MemoryMarshal.Cast<byte, uint>(bytes);
        BinaryPrimitives.ReverseEndianness(words, words);
    }
}
