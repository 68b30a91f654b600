using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

// The convolution primitives: each fills in a lowering (the im2col index map) and the operands
// of the one tiled GEMM, in the version the backend is set to (ImplicitGemm.cs, ImplicitGemmV2.cs).
public sealed partial class IlgpuBackend
{
    // Loaded on first use, one per GEMM version.
    private readonly Action<KernelConfig, ConvGemmArgs, ForwardLowering>?[] _convForward = new Action<KernelConfig, ConvGemmArgs, ForwardLowering>?[2];
    private readonly Action<KernelConfig, ConvGemmArgs, BackwardDataLowering>?[] _convBackwardData = new Action<KernelConfig, ConvGemmArgs, BackwardDataLowering>?[2];
    private readonly Action<KernelConfig, ConvGemmArgs, BackwardWeightLowering>?[] _convBackwardWeight = new Action<KernelConfig, ConvGemmArgs, BackwardWeightLowering>?[2];
    private Action<Index1D, SplitSumArgs>? _sumSplits;

    internal struct SplitSumArgs
    {
        public Floats Partials, Out, OutScale;
        public int Length, Splits, ScalePlane, HasOutScale;
        public float Gain;
    }

    /// <summary>Forces the K-split count of every convolution primitive (tests); 0 chooses by occupancy.</summary>
    internal int SplitsOverride { get; set; }

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
        var gemm = _convForward[(int)GemmVersion] ??= LoadGemm<ForwardLowering>();
        RunSplit(a, y.Length, scalePlane: oh * ow, Tiles(a), a.K, (part, splits) => gemm(GemmGrid(part, splits), part, lowering));
    }

    internal override void ConvBackwardDataCore(Tensor dy, Tensor weight, Tensor dx, ConvGeometry g, Tensor? dyScale, Tensor? dxScale)
    {
        var (n, co, oh, ow) = dy.Shape.Nchw;
        var (_, ci, h, w) = dx.Shape.Nchw;
        int k = weight.Shape[2], s = g.Stride;
        var classes = new List<(BackwardDataLowering Lowering, ConvGemmArgs Args)>();
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
                classes.Add((lowering, a));
            }
        var gemm = _convBackwardData[(int)GemmVersion] ??= LoadGemm<BackwardDataLowering>();
        // The classes cover dx's pixels exactly once, so split partials of all of them form whole dx images.
        RunSplit(classes[0].Args, dx.Length, scalePlane: h * w, classes.Sum(c => Tiles(c.Args)), classes.Max(c => c.Args.K), (part, splits) =>
        {
            foreach (var (lowering, a) in classes)
                gemm(GemmGrid(a, splits), a with { Out = part.Out, OutSplitStride = part.OutSplitStride, Gain = part.Gain, HasOutScale = part.HasOutScale, KPerSplit = part.KPerSplit }, lowering);
        });
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
        int k = dWeight.Shape[2], taps = k * k;
        var lowering = new BackwardWeightLowering
        {
            InC = ci, OutC = co, H = h, W = w, OutW = ow, OutHw = oh * ow, Stride = g.Stride, Padding = g.Padding, KernelSize = k,
            Transposed = Flag(g.WeightTransposed),
        };
        var a = Gemm(V(dy), dyScale, V(x), xScale, V(dWeight), null, m: co, columns: ci * taps, k: n * oh * ow, g.Gain);
        a.AStrideM = oh * ow;
        (a.SrcH, a.SrcW, a.OutStrideM) = (h, w, g.WeightTransposed ? taps : ci * taps);
        var gemm = _convBackwardWeight[(int)GemmVersion] ??= LoadGemm<BackwardWeightLowering>();
        RunSplit(a, dWeight.Length, scalePlane: 1, Tiles(a), a.K, (part, splits) => gemm(GemmGrid(part, splits), part, lowering));
    }

    /// <summary>
    /// Launches a primitive's GEMMs (<paramref name="launch"/> gets its operands and the split
    /// count), split along K when its tiles alone cannot fill the GPU: a weight gradient has few
    /// tiles and a K of every pixel of the batch, a 4x4 layer few columns and a K of 4608. Each
    /// split writes a partial in the output's layout; a second pass sums them in order
    /// (deterministic, unlike float atomics) and applies the gain and output scale.
    /// </summary>
    private void RunSplit(ConvGemmArgs a, int outLength, int scalePlane, int tiles, int maxK, Action<ConvGemmArgs, int> launch)
    {
        int splits = SplitsOverride > 0 ? SplitsOverride : Math.Clamp(Math.Min(CeilDiv(2 * _accelerator.NumMultiprocessors, tiles), maxK / 512), 1, 64);
        int kPerSplit = RoundUp(CeilDiv(maxK, splits), GemmTile.K);
        if (splits == 1)
        {
            launch(a with { KPerSplit = Math.Max(kPerSplit, 1) }, 1);
            return;
        }
        var partials = Scratch(ScratchSlot.First, (long)splits * outLength);
        launch(a with { Out = partials, OutSplitStride = outLength, Gain = 1f, HasOutScale = 0, KPerSplit = Math.Max(kPerSplit, 1) }, splits);
        _sumSplits ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, SplitSumArgs>(SumSplitsKernel);
        _sumSplits(outLength, new SplitSumArgs
        {
            Partials = partials, Out = a.Out, OutScale = a.OutScale, Length = outLength, Splits = splits,
            ScalePlane = scalePlane, HasOutScale = a.HasOutScale, Gain = a.Gain,
        });
    }

    /// <summary>out[j] = gain·Σ_z partial[z, j]·scale; the output scale is per (sample, channel) plane.</summary>
    private static void SumSplitsKernel(Index1D j, SplitSumArgs a)
    {
        float s = 0;
        for (int z = 0; z < a.Splits; z++) s += a.Partials[z * a.Length + j];
        s *= a.Gain;
        if (a.HasOutScale != 0) s *= a.OutScale[j / a.ScalePlane];
        a.Out[j] = s;
    }

    private ConvGemmArgs Gemm(Floats aOperand, Tensor? aScale, Floats b, Tensor? bScale, Floats output, Tensor? outScale, int m, int columns, int k, float gain) => new()
    {
        A = aOperand, AScale = VOrNone(aScale), B = b, BScale = VOrNone(bScale), Out = output, OutScale = VOrNone(outScale),
        M = m, Columns = columns, K = k, KPerSplit = Math.Max(k, 1),
        HasAScale = Flag(aScale is not null), HasBScale = Flag(bScale is not null), HasOutScale = Flag(outScale is not null),
        Gain = gain,
    };

    /// <summary>The GEMM's square output tile (rows and columns per group), threads per group and K-step.</summary>
    private (int Size, int Threads, int K) GemmTile => (GemmVersion, LargeTiles) switch
    {
        (GemmVersion.V1, true) => (Tile64.Size, Tile64.Threads, Tile64.K),
        (GemmVersion.V1, false) => (Tile16.Size, Tile16.Threads, Tile16.K),
        (_, true) => (Tile128.Size, Tile128.Threads, Tile128.K),
        _ => (Tile32.Size, Tile32.Threads, Tile32.K),
    };

    private int Tiles(ConvGemmArgs a) => CeilDiv(a.M, GemmTile.Size) * CeilDiv(a.Columns, GemmTile.Size);

    private KernelConfig GemmGrid(ConvGemmArgs a, int splits) => new(
        new Index3D(CeilDiv(a.Columns, GemmTile.Size), CeilDiv(a.M, GemmTile.Size), splits),
        new Index3D(GemmTile.Threads, 1, 1));

    private Action<KernelConfig, ConvGemmArgs, TLowering> LoadGemm<TLowering>() where TLowering : struct, IConvLoweringV2 => (GemmVersion, LargeTiles) switch
    {
        (GemmVersion.V1, true) => _accelerator.LoadStreamKernel<ConvGemmArgs, TLowering>(ConvGemm.Kernel<Tile64, TLowering>),
        (GemmVersion.V1, false) => _accelerator.LoadStreamKernel<ConvGemmArgs, TLowering>(ConvGemm.Kernel<Tile16, TLowering>),
        (_, true) => _accelerator.LoadStreamKernel<ConvGemmArgs, TLowering>(ConvGemmV2.Kernel<Tile128, TLowering>, GemmV2Specialization),
        _ => _accelerator.LoadStreamKernel<ConvGemmArgs, TLowering>(ConvGemmV2.Kernel<Tile32, TLowering>),
    };

    /// <summary>
    /// v2's launch bounds: 256 threads and at least two groups per multiprocessor, so ptxas keeps a
    /// thread within 128 registers (65536 / 512) and two groups' barriers overlap each other's work.
    /// </summary>
    internal static KernelSpecialization GemmV2Specialization => new(Tile128.Threads, 2);

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
    private static int RoundUp(int a, int b) => CeilDiv(a, b) * b;
}
