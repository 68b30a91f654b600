using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    internal struct ChannelSumArgs
    {
        public Floats X, Out;
        public int N, C, Hw, Chunks;
    }

    private Action<KernelConfig, ChannelSumArgs>? _sumChannelChunks;
    private Action<Index1D, Floats, Floats, int>? _sumChunks;
    private Action<Index1D, Floats, Floats, int, int>? _broadcastOverBatchAndSpace;

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

    /// <summary>y[c] = Σ_{n,p} x[n, c, p]; also the bias gradient of the fused epilogue, and (C = 1) a plain sum.</summary>
    private void SumOverBatchAndSpace(Floats x, Floats y, int n, int c, int hw)
    {
        // One group per channel leaves most of a GPU idle when channels are few and planes large
        // (ToRGB's bias, the noise strength): then each channel is cut into chunks, one group
        // each, and a second pass adds a channel's chunk sums in order.
        long perChannel = (long)n * hw;
        int chunks = c >= 2 * _accelerator.NumMultiprocessors ? 1 : (int)Math.Clamp(perChannel / (64L * _reduceGroup), 1, 64);
        var a = new ChannelSumArgs { X = x, Out = chunks == 1 ? y : Scratch(ScratchSlot.Partials, c * chunks), N = n, C = c, Hw = hw, Chunks = chunks };
        _sumChannelChunks ??= _accelerator.LoadStreamKernel<ChannelSumArgs>(SumChannelChunksKernel);
        _sumChannelChunks(ReduceGrid(c * chunks), a);
        if (chunks == 1) return;
        _sumChunks ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Floats, int>(SumChunksKernel);
        _sumChunks(c, a.Out, y, chunks);
    }

    /// <summary>One group per (channel, chunk) of the channel's N·H·W values; Out[group] = their sum.</summary>
    private static void SumChannelChunksKernel(ChannelSumArgs a)
    {
        int ch = Grid.IdxX / a.Chunks, chunk = Grid.IdxX - ch * a.Chunks;
        int length = a.N * a.Hw, begin = (int)((long)length * chunk / a.Chunks), end = (int)((long)length * (chunk + 1) / a.Chunks);
        float s = 0;
        for (int e = begin + Group.IdxX; e < end; e += Group.DimX)
        {
            int b = e / a.Hw;
            s += a.X[(b * a.C + ch) * a.Hw + e - b * a.Hw];
        }
        s = GroupReduce.Sum(s);
        if (Group.IdxX == 0) a.Out[Grid.IdxX] = s;
    }

    private static void SumChunksKernel(Index1D ch, Floats partials, Floats y, int chunks)
    {
        float s = 0;
        for (int k = 0; k < chunks; k++) s += partials[ch * chunks + k];
        y[ch] = s;
    }

    private static void BroadcastOverBatchAndSpaceKernel(Index1D j, Floats dy, Floats dx, int c, int hw) =>
        dx[j] = dy[j / hw % c];
}
