namespace GrpcExplain.Kernels;

/// <summary>A float32 tensor in host memory, C order.</summary>
public sealed record HostTensor(int[] Shape, float[] Data)
{
    public static long Count(int[] shape) => shape.Aggregate(1L, (a, d) => a * d);
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
