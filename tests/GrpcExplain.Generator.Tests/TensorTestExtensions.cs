using System.Runtime.InteropServices;
using Google.Protobuf;
using GrpcExplain.Protos.V1;

namespace GrpcExplain.Generator.Tests;

/// <summary>Tensors as a client builds and reads them (little-endian float32 bytes; the test machines are little-endian).</summary>
internal static class TensorTestExtensions
{
    public static Tensor ToTensor(this float[] values, params long[] shape)
    {
        var tensor = new Tensor { Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Shape.Add(shape);
        return tensor;
    }

    public static float[] Values(this Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();
}
