using System.Text.Json.Serialization;

namespace GrpcExplain.Classifiers;

/// <summary>
/// Element types a model's inputs and outputs may have here, named as the Open Inference Protocol
/// names them. Image classifiers take FP32 or UINT8 images and give FP32 scores; a model with any
/// other input or output type is refused when it loads.
/// </summary>
public enum DataType
{
    [JsonStringEnumMemberName("FP32")]
    Fp32,

    [JsonStringEnumMemberName("UINT8")]
    Uint8,
}

public static class DataTypes
{
    public static string Name(DataType type) => type switch
    {
        DataType.Fp32 => "FP32",
        DataType.Uint8 => "UINT8",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParse(string name, out DataType type)
    {
        switch (name)
        {
            case "FP32": type = DataType.Fp32; return true;
            case "UINT8": type = DataType.Uint8; return true;
            default: type = default; return false;
        }
    }

    public static int ElementSize(DataType type) => type == DataType.Fp32 ? sizeof(float) : sizeof(byte);
}

/// <summary>A model's input or output as its metadata declares it; -1 marks a dimension of any size.</summary>
public sealed record TensorSpec(string Name, DataType Type, IReadOnlyList<long> Shape)
{
    public override string ToString() => $"{Name} {DataTypes.Name(Type)} [{string.Join(", ", Shape)}]";
}

/// <summary>A named, typed, row-major tensor: float[] for FP32, byte[] for UINT8.</summary>
public sealed class Tensor
{
    private Tensor(string name, DataType type, long[] shape, Array data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        long count = ElementCount(shape) ?? throw new ArgumentException($"Tensor '{name}': shape [{string.Join(", ", shape)}] is not a valid shape.", nameof(shape));
        if (count != data.Length)
        {
            throw new ArgumentException($"Tensor '{name}': {data.Length} elements do not fill shape [{string.Join(", ", shape)}].", nameof(data));
        }
        Name = name;
        Type = type;
        Shape = shape;
        Data = data;
    }

    public static Tensor Fp32(string name, long[] shape, float[] data) => new(name, DataType.Fp32, shape, data);

    public static Tensor Uint8(string name, long[] shape, byte[] data) => new(name, DataType.Uint8, shape, data);

    public string Name { get; }

    public DataType Type { get; }

    public IReadOnlyList<long> Shape { get; }

    /// <summary>The elements: float[] or byte[] as <see cref="Type"/> says.</summary>
    public Array Data { get; }

    public float[] Floats => Data as float[] ?? throw new InvalidOperationException($"Tensor '{Name}' is {DataTypes.Name(Type)}, not FP32.");

    public byte[] Bytes => Data as byte[] ?? throw new InvalidOperationException($"Tensor '{Name}' is {DataTypes.Name(Type)}, not UINT8.");

    /// <summary>The number of elements of a shape, or null when a dimension is negative or the count passes int.MaxValue.</summary>
    public static long? ElementCount(IReadOnlyList<long> shape)
    {
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0 || (d > 0 && count > int.MaxValue / d))
            {
                return null;
            }
            count *= d;
        }
        return count;
    }
}
