using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, int>? _norm2Forward;
    private Action<KernelConfig, Floats, Floats, Floats, int>? _norm2Backward;

    protected override void Normalize2ndMomentForwardCore(Tensor x, Tensor y)
    {
        _norm2Forward ??= _accelerator.LoadStreamKernel<Floats, Floats, int>(Normalize2ndMomentForwardKernel);
        _norm2Forward(ReduceGrid(x.Shape[0]), V(x), V(y), x.Shape[1]);
    }

    protected override void Normalize2ndMomentBackwardCore(Tensor x, Tensor dy, Tensor dx)
    {
        _norm2Backward ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int>(Normalize2ndMomentBackwardKernel);
        _norm2Backward(ReduceGrid(x.Shape[0]), V(x), V(dy), V(dx), x.Shape[1]);
    }

    private static float Rsqrt2ndMoment(float sumOfSquares, int features) =>
        1f / MathF.Sqrt(sumOfSquares / features + Normalize2ndMoment.Epsilon);

    /// <summary>One group per sample: the mean of squares is a group sum, then the row is scaled in place.</summary>
    private static void Normalize2ndMomentForwardKernel(Floats x, Floats y, int features)
    {
        int row = Grid.IdxX * features;
        float ss = 0;
        for (int f = Group.IdxX; f < features; f += Group.DimX) ss += x[row + f] * x[row + f];
        float r = Rsqrt2ndMoment(GroupReduce.Sum(ss), features);
        for (int f = Group.IdxX; f < features; f += Group.DimX) y[row + f] = x[row + f] * r;
    }

    /// <summary>dx = r·dy − r³/F · x · Σ dy·x, both sums in one pass over the row.</summary>
    private static void Normalize2ndMomentBackwardKernel(Floats x, Floats dy, Floats dx, int features)
    {
        int row = Grid.IdxX * features;
        float ss = 0, dot = 0;
        for (int f = Group.IdxX; f < features; f += Group.DimX)
        {
            float v = x[row + f];
            ss += v * v;
            dot += v * dy[row + f];
        }
        float r = Rsqrt2ndMoment(GroupReduce.Sum(ss), features);
        float c = r * r * r / features * GroupReduce.Sum(dot);
        for (int f = Group.IdxX; f < features; f += Group.DimX) dx[row + f] = r * dy[row + f] - c * x[row + f];
    }
}
