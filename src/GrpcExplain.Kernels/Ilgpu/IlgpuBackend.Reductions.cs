using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, int, int, int>? _sumOverBatchAndSpace;
    private Action<Index1D, Floats, Floats, int, int>? _broadcastOverBatchAndSpace;
    private Action<KernelConfig, Floats, Floats, int>? _sumAll;

    protected override void SumOverBatchAndSpaceForwardCore(Tensor x, Tensor y)
    {
        var (n, c, h, w) = x.Shape.Nchw;
        SumOverBatchAndSpace(V(x), V(y), n, c, h * w);
    }

    protected override void SumOverBatchAndSpaceBackwardCore(Tensor dy, Tensor dx)
    {
        var (_, c, h, w) = dx.Shape.Nchw;
        _broadcastOverBatchAndSpace ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Floats, int, int>(BroadcastOverBatchAndSpaceKernel);
        _broadcastOverBatchAndSpace(dx.Length, V(dy), V(dx), c, h * w);
    }

    /// <summary>y[c] = Σ_{n,p} x[n, c, p]; also the bias gradient of the fused epilogue.</summary>
    private void SumOverBatchAndSpace(Floats x, Floats y, int n, int c, int hw)
    {
        _sumOverBatchAndSpace ??= _accelerator.LoadStreamKernel<Floats, Floats, int, int, int>(SumOverBatchAndSpaceKernel);
        _sumOverBatchAndSpace(ReduceGrid(c), x, y, n, c, hw);
    }

    /// <summary>y[0] = Σ x, by one group.</summary>
    private void SumAll(Floats x, Floats y)
    {
        _sumAll ??= _accelerator.LoadStreamKernel<Floats, Floats, int>(SumAllKernel);
        _sumAll(ReduceGrid(1), x, y, (int)x.Length);
    }

    /// <summary>One group per channel; each thread strides over the channel's planes, the group sums.</summary>
    private static void SumOverBatchAndSpaceKernel(Floats x, Floats y, int n, int c, int hw)
    {
        int ch = Grid.IdxX;
        float s = 0;
        for (int b = 0; b < n; b++)
        {
            int plane = (b * c + ch) * hw;
            for (int q = Group.IdxX; q < hw; q += Group.DimX) s += x[plane + q];
        }
        s = GroupReduce.Sum(s);
        if (Group.IdxX == 0) y[ch] = s;
    }

    private static void BroadcastOverBatchAndSpaceKernel(Index1D j, Floats dy, Floats dx, int c, int hw) =>
        dx[j] = dy[j / hw % c];

    private static void SumAllKernel(Floats x, Floats y, int length)
    {
        float s = 0;
        for (int i = Group.IdxX; i < length; i += Group.DimX) s += x[i];
        s = GroupReduce.Sum(s);
        if (Group.IdxX == 0) y[0] = s;
    }
}
