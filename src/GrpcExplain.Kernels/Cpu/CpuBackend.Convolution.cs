namespace GrpcExplain.Kernels.Cpu;

// The three convolution primitives as GEMMs over packed operands (see Gemm and ConvPacking).
public sealed unsafe partial class CpuBackend
{
    internal override void ConvForwardCore(Tensor x, Tensor weight, Tensor y, ConvGeometry g, Tensor? inScale, Tensor? outScale)
    {
        if (IsNarrowPointwise(weight, g))
        {
            PointwiseSum(x, weight, y, g, inScale, outScale, sumOverWeightRows: false);
            return;
        }
        var (n, ci, h, w) = x.Shape.Nchw;
        var (_, co, oh, ow) = y.Shape.Nchw;
        int k = weight.Shape[2], kk = k * k;
        var rowOffset = Pinned(co);
        var colOffset = Pinned(ci * kk);
        int[] channel = Pinned(ci * kk), offY = Pinned(ci * kk), offX = Pinned(ci * kk);
        for (int o = 0; o < co; o++) rowOffset[o] = g.WeightTransposed ? o * kk : o * ci * kk;
        for (int i = 0; i < ci; i++)
            for (int t = 0; t < kk; t++)
            {
                int kidx = i * kk + t;
                colOffset[kidx] = (g.WeightTransposed ? i * co * kk : i * kk) + t;
                (channel[kidx], offY[kidx], offX[kidx]) = (i, t / k - g.Padding, t % k - g.Padding);
            }
        fixed (int* ro = rowOffset, cof = colOffset)
        {
            var a = PackedWeight(weight, $"forward {g}", co, ci * kk, new WeightA(P(weight), ro, cof, co, g.Gain));
            if (g.Stride == 1 && JunkIsCheap((long)n * oh * ShiftedInput.Extent(w, -g.Padding, k - 1 - g.Padding, ow), (long)n * oh * ow))
            {
                using var shifted = new ShiftedInput(this, x, inScale, -g.Padding, k - 1 - g.Padding, -g.Padding, k - 1 - g.Padding, oh, ow);
                var offset = Pinned(ci * kk);
                for (int kidx = 0; kidx < ci * kk; kidx++) offset[kidx] = shifted.Offset(channel[kidx], offY[kidx], offX[kidx]);
                fixed (int* op = offset)
                    Gemm.Run(this, co, n * oh * shifted.Pitch, ci * kk, a,
                        new ShiftedB(shifted.Pointer, shifted.SamplePitch, oh * shifted.Pitch, op),
                        new ConvStore(P(y), co, oh, ow, 1, 0, 0, oh, shifted.Pitch, P(outScale), storedB: ow));
                return;
            }
            fixed (int* chp = channel, oyp = offY, oxp = offX)
                Gemm.Run(this, co, n * oh * ow, ci * kk, a,
                    new GatherB(P(x), ci, h, w, g.Stride, chp, oyp, oxp, oh, ow, P(inScale)),
                    new ConvStore(P(y), co, oh, ow, 1, 0, 0, oh, ow, P(outScale), storedB: ow));
        }
    }

    /// <summary>
    /// The transposed convolution, split into stride² phases (output parities): each phase is a dense
    /// convolution over only the taps that reach it, so no multiply is spent on inserted zeros. Where
    /// the junk columns are cheap, every phase reads dy at constant offsets per tap from one
    /// <see cref="ShiftedInput"/>; otherwise each gathers its im2col.
    /// </summary>
    internal override void ConvBackwardDataCore(Tensor dy, Tensor weight, Tensor dx, ConvGeometry g, Tensor? dyScale, Tensor? dxScale)
    {
        if (IsNarrowPointwise(weight, g))
        {
            PointwiseSum(dy, weight, dx, g, dyScale, dxScale, sumOverWeightRows: true);
            return;
        }
        var (n, ci, h, w) = dx.Shape.Nchw;
        var (_, co, _, _) = dy.Shape.Nchw;
        int k = weight.Shape[2], kk = k * k, s = g.Stride;
        var rowOffset = Pinned(ci);
        for (int i = 0; i < ci; i++) rowOffset[i] = g.WeightTransposed ? i * co * kk : i * kk;
        var phases = new List<(int Ry, int Rx, int Ga, int Gb, List<(int Tap, int Offset)> TapsY, List<(int Tap, int Offset)> TapsX)>();
        for (int ry = 0; ry < Math.Min(s, h); ry++)
            for (int rx = 0; rx < Math.Min(s, w); rx++)
                phases.Add((ry, rx, Gemm.CeilDiv(h - ry, s), Gemm.CeilDiv(w - rx, s), PhaseTaps(ry, g.Padding, k, s), PhaseTaps(rx, g.Padding, k, s)));
        var (_, _, oh, ow) = dy.Shape.Nchw;
        int minY = phases.Min(p => p.TapsY.Select(t => t.Offset).DefaultIfEmpty().Min()), maxY = phases.Max(p => p.TapsY.Select(t => t.Offset).DefaultIfEmpty().Max());
        int minX = phases.Min(p => p.TapsX.Select(t => t.Offset).DefaultIfEmpty().Min()), maxX = phases.Max(p => p.TapsX.Select(t => t.Offset).DefaultIfEmpty().Max());
        int maxGa = phases.Max(p => p.Ga), maxGb = phases.Max(p => p.Gb), pitch = ShiftedInput.Extent(ow, minX, maxX, maxGb);
        using var shifted = JunkIsCheap(phases.Sum(p => (long)n * p.Ga * pitch), phases.Sum(p => (long)n * p.Ga * p.Gb))
            ? new ShiftedInput(this, dy, dyScale, minY, maxY, minX, maxX, maxGa, maxGb)
            : null;
        foreach (var (ry, rx, ga, gb, tapsY, tapsX) in phases)
        {
            // A phase no tap reaches (k < stride) is zero: a GEMM of depth 0 stores zeros.
            int depth = co * tapsY.Count * tapsX.Count;
            var colOffset = Pinned(depth);
            int[] channel = Pinned(depth), offY = Pinned(depth), offX = Pinned(depth);
            int kidx = 0;
            for (int o = 0; o < co; o++)
                foreach (var (ky, dyOff) in tapsY)
                    foreach (var (kx, dxOff) in tapsX)
                    {
                        colOffset[kidx] = (g.WeightTransposed ? o * kk : o * ci * kk) + ky * k + kx;
                        (channel[kidx], offY[kidx], offX[kidx]) = (o, dyOff, dxOff);
                        kidx++;
                    }
            fixed (int* ro = rowOffset, cof = colOffset, chp = channel, oyp = offY, oxp = offX)
            {
                var a = PackedWeight(weight, $"transposed {g} phase {ry},{rx}", ci, depth, new WeightA(P(weight), ro, cof, ci, g.Gain));
                if (shifted is null)
                {
                    Gemm.Run(this, ci, n * ga * gb, depth, a,
                        new GatherB(P(dy), co, oh, ow, 1, chp, oyp, oxp, ga, gb, P(dyScale)),
                        new ConvStore(P(dx), ci, h, w, s, ry, rx, ga, gb, P(dxScale), storedB: gb));
                    continue;
                }
                var offset = Pinned(depth);
                for (int i = 0; i < depth; i++) offset[i] = shifted.Offset(channel[i], offY[i], offX[i]);
                fixed (int* op = offset)
                    Gemm.Run(this, ci, n * ga * shifted.Pitch, depth, a,
                        new ShiftedB(shifted.Pointer, shifted.SamplePitch, ga * shifted.Pitch, op),
                        new ConvStore(P(dx), ci, h, w, s, ry, rx, ga, shifted.Pitch, P(dxScale), storedB: gb));
            }
        }
    }

    /// <summary>
    /// Whether reading a <see cref="ShiftedInput"/> pays: its junk columns are extra GEMM columns, which on
    /// small maps (an 8x8 map's rows grow from 8 to 10) cost more than the gather they save.
    /// </summary>
    private static bool JunkIsCheap(long columnsWithJunk, long columns) =>
        Gemm.RoundUp((int)Math.Min(columnsWithJunk, int.MaxValue / 2), Gemm.NR) * 16L <= Gemm.RoundUp((int)Math.Min(columns, int.MaxValue / 2), Gemm.NR) * 17L;

    /// <summary>The taps ky that reach output rows ≡ r (mod stride), each with its input offset (r + P − ky)/stride.</summary>
    private static List<(int Tap, int Offset)> PhaseTaps(int r, int padding, int kernel, int stride)
    {
        var taps = new List<(int, int)>();
        for (int t = 0; t < kernel; t++)
            if (((r + padding - t) % stride + stride) % stride == 0) taps.Add((t, (r + padding - t) / stride));
        return taps;
    }

    internal override void ConvBackwardWeightCore(Tensor x, Tensor dy, Tensor dWeight, ConvGeometry g, Tensor? xScale, Tensor? dyScale)
    {
        if (IsNarrowPointwise(dWeight, g))
        {
            PointwiseWeightGradient(x, dy, dWeight, g, xScale, dyScale);
            return;
        }
        var (n, ci, h, w) = x.Shape.Nchw;
        var (_, co, oh, ow) = dy.Shape.Nchw;
        int k = dWeight.Shape[2];
        Gemm.Run(this, co, ci * k * k, n * oh * ow,
            new MapRowsA(P(dy), co, oh * ow, P(dyScale)),
            new GatherTransposedB(P(x), ci, h, w, k, g.Stride, g.Padding, oh, ow, P(xScale)),
            new WeightStore(P(dWeight), co, ci, k * k, g.WeightTransposed, g.Gain));
    }

    private static int[] Pinned(int length) => GC.AllocateArray<int>(Math.Max(length, 1), pinned: true);
}
