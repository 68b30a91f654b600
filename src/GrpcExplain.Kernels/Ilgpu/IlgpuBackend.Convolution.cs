using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

// The convolution primitives: each fills in a lowering (the im2col index map) and the operands
// of the one tiled GEMM in ImplicitGemm.cs.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ConvGemmArgs, ForwardLowering>? _convForward;
    private Action<KernelConfig, ConvGemmArgs, BackwardDataLowering>? _convBackwardData;
    private Action<KernelConfig, ConvGemmArgs, BackwardWeightLowering>? _convBackwardWeight;
    private Action<Index1D, Floats, Floats, WeightSplitArgs>? _sumWeightSplits;

    internal struct WeightSplitArgs
    {
        public int M, Columns, Splits, Taps, TransposedOut;
        public float Gain;
    }

    /// <summary>Forces the backward-weight K-split count (tests); 0 chooses by occupancy.</summary>
    internal int WeightSplitsOverride { get; set; }

    internal override void ConvForwardCore(Tensor x, Tensor weight, Tensor y, ConvGeometry g, Tensor? inScale, Tensor? outScale)
    {
        var (n, ci, h, w) = x.Shape.Nchw;
        var (_, co, oh, ow) = y.Shape.Nchw;
        int k = weight.Shape[2], taps = k * k;
        var lowering = new ForwardLowering
        {
            InC = ci, OutC = co, H = h, W = w, OutW = ow, OutHw = oh * ow, Stride = g.Stride, Padding = g.Padding,
            KernelSize = k, Transposed = Flag(g.WeightTransposed),
        };
        var a = Gemm(V(weight), null, V(x), inScale, V(y), outScale, m: co, columns: n * oh * ow, k: ci * taps, g.Gain);
        a.AStrideM = g.WeightTransposed ? taps : ci * taps;
        (a.SrcH, a.SrcW, a.OutStrideM) = (h, w, oh * ow);
        _convForward ??= LoadGemm<ForwardLowering>();
        _convForward(GemmGrid(a, 1), a, lowering);
    }

    internal override void ConvBackwardDataCore(Tensor dy, Tensor weight, Tensor dx, ConvGeometry g, Tensor? dyScale, Tensor? dxScale)
    {
        var (n, co, oh, ow) = dy.Shape.Nchw;
        var (_, ci, h, w) = dx.Shape.Nchw;
        int k = weight.Shape[2], s = g.Stride;
        _convBackwardData ??= LoadGemm<BackwardDataLowering>();
        for (int ry = 0; ry < s; ry++)
            for (int rx = 0; rx < s; rx++)
            {
                var (firstY, classH, firstQy, tapsY) = PhaseClass(ry, h, k, g);
                var (firstX, classW, firstQx, tapsX) = PhaseClass(rx, w, k, g);
                if (classH == 0 || classW == 0) continue;
                var lowering = new BackwardDataLowering
                {
                    InC = ci, OutC = co, H = h, W = w, OutH = oh, OutW = ow, Stride = s, KernelSize = k, Transposed = Flag(g.WeightTransposed),
                    Rx = rx, Ry = ry, FirstX = firstX, FirstY = firstY, FirstQx = firstQx, FirstQy = firstQy,
                    ClassW = classW, ClassHw = classH * classW, TapsX = tapsX, TapsXY = tapsY * tapsX,
                };
                // A class with no taps (a 1x1 kernel at stride 2) still runs, to write its zeros.
                var a = Gemm(V(weight), null, V(dy), dyScale, V(dx), dxScale, m: ci, columns: n * classH * classW, k: co * tapsY * tapsX, g.Gain);
                a.AStrideM = g.WeightTransposed ? co * k * k : k * k;
                (a.SrcH, a.SrcW, a.OutStrideM) = (oh, ow, h * w);
                _convBackwardData(GemmGrid(a, 1), a, lowering);
            }
    }

    /// <summary>
    /// The pixels along one axis with (i + P) mod S = r: the first, how many, the first's source
    /// coordinate q = (i + P − r)/S, and how many taps k' ≡ r (mod S) reach them.
    /// </summary>
    private static (int First, int Count, int FirstQ, int Taps) PhaseClass(int r, int size, int k, ConvGeometry g)
    {
        int s = g.Stride, first = ((r - g.Padding) % s + s) % s;
        int count = first < size ? (size - 1 - first) / s + 1 : 0;
        int taps = r < k ? (k - 1 - r) / s + 1 : 0;
        return (first, count, (first + g.Padding - r) / s, taps);
    }

    internal override void ConvBackwardWeightCore(Tensor x, Tensor dy, Tensor dWeight, ConvGeometry g, Tensor? xScale, Tensor? dyScale)
    {
        var (n, ci, h, w) = x.Shape.Nchw;
        var (_, co, oh, ow) = dy.Shape.Nchw;
        int k = dWeight.Shape[2], taps = k * k, columns = ci * taps;
        var a = Gemm(V(dy), dyScale, V(x), xScale, V(dWeight), null, m: co, columns, k: n * oh * ow, g.Gain);
        a.AStrideM = oh * ow;
        (a.SrcH, a.SrcW) = (h, w);
        int splits = WeightSplits(a);
        a.KPerSplit = RoundUp(CeilDiv(a.K, splits), LargeTiles ? Tile64.K : Tile16.K);
        splits = CeilDiv(a.K, a.KPerSplit);
        var lowering = new BackwardWeightLowering
        {
            InC = ci, OutC = co, H = h, W = w, OutW = ow, OutHw = oh * ow, Stride = g.Stride, Padding = g.Padding, KernelSize = k,
            TransposedOut = Flag(g.WeightTransposed && splits == 1),
        };
        _convBackwardWeight ??= LoadGemm<BackwardWeightLowering>();
        if (splits == 1)
        {
            a.OutStrideM = g.WeightTransposed ? taps : columns;
            _convBackwardWeight(GemmGrid(a, 1), a, lowering);
            return;
        }
        // Split K (the batch and every pixel) when the weight has too few tiles to fill the GPU:
        // each split writes a plain [co, columns] partial, and a second pass sums them in order
        // (deterministic, unlike float atomics) and stores in the weight's layout with the gain.
        var partials = Scratch(ScratchSlot.First, (long)splits * co * columns);
        (a.Out, a.OutStrideM, a.OutSplitStride, a.Gain) = (partials, columns, co * columns, 1f);
        _convBackwardWeight(GemmGrid(a, splits), a, lowering);
        _sumWeightSplits ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Floats, WeightSplitArgs>(SumWeightSplitsKernel);
        _sumWeightSplits(co * columns, partials, V(dWeight), new WeightSplitArgs
        {
            M = co, Columns = columns, Splits = splits, Taps = taps, TransposedOut = Flag(g.WeightTransposed), Gain = g.Gain,
        });
    }

    /// <summary>Enough splits for about two groups per multiprocessor, each keeping at least 512 of K.</summary>
    private int WeightSplits(ConvGemmArgs a)
    {
        if (WeightSplitsOverride > 0) return Math.Min(WeightSplitsOverride, a.K);
        int tiles = CeilDiv(a.M, TileSize) * CeilDiv(a.Columns, TileSize);
        int wanted = CeilDiv(2 * _accelerator.NumMultiprocessors, tiles);
        return Math.Clamp(Math.Min(wanted, a.K / 512), 1, 64);
    }

    private static void SumWeightSplitsKernel(Index1D j, Floats partials, Floats dWeight, WeightSplitArgs a)
    {
        int m = j / a.Columns, c = j - m * a.Columns;
        float s = 0;
        for (int z = 0; z < a.Splits; z++) s += partials[z * a.M * a.Columns + j];
        // Transposed layout [ci, co, k, k] for column c = (ci, tap): ci·co·k² + m·k² + tap.
        int ci = c / a.Taps, at = a.TransposedOut != 0 ? (ci * a.M + m) * a.Taps + c - ci * a.Taps : j;
        dWeight[at] = s * a.Gain;
    }

    private ConvGemmArgs Gemm(Floats aOperand, Tensor? aScale, Floats b, Tensor? bScale, Floats output, Tensor? outScale, int m, int columns, int k, float gain) => new()
    {
        A = aOperand, AScale = VOrNone(aScale), B = b, BScale = VOrNone(bScale), Out = output, OutScale = VOrNone(outScale),
        M = m, Columns = columns, K = k, KPerSplit = Math.Max(k, 1),
        HasAScale = Flag(aScale is not null), HasBScale = Flag(bScale is not null), HasOutScale = Flag(outScale is not null),
        Gain = gain,
    };

    private KernelConfig GemmGrid(ConvGemmArgs a, int splits)
    {
        return new KernelConfig(
            new Index3D(CeilDiv(a.Columns, TileSize), CeilDiv(a.M, TileSize), splits),
            new Index3D(LargeTiles ? Tile64.Threads : Tile16.Threads, 1, 1));
    }

    private int TileSize => LargeTiles ? Tile64.Size : Tile16.Size;

    private Action<KernelConfig, ConvGemmArgs, TLowering> LoadGemm<TLowering>() where TLowering : struct, IConvLowering =>
        LargeTiles
            ? _accelerator.LoadStreamKernel<ConvGemmArgs, TLowering>(ConvGemm.Kernel<Tile64, TLowering>)
            : _accelerator.LoadStreamKernel<ConvGemmArgs, TLowering>(ConvGemm.Kernel<Tile16, TLowering>);

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
    private static int RoundUp(int a, int b) => CeilDiv(a, b) * b;
}
