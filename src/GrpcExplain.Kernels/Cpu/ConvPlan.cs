namespace GrpcExplain.Kernels.Cpu;

/// <summary>
/// One GEMM of a convolution primitive: a whole forward convolution, or one output phase (ry, rx) of a
/// transposed one. Row m reads weight[RowOffset[m] + ColOffset[kidx]]; depth index kidx reads input
/// channel Channel[kidx] at offset (OffY, OffX) of the output grid point, which is also
/// Shifted[kidx] + a·pitch + b in the plan's <see cref="ShiftedLayout"/> when it has one.
/// </summary>
internal sealed record ConvPass(string WeightUse, int Ry, int Rx, int Ga, int Gb, int Depth,
    int[] ColOffset, int[] Channel, int[] OffY, int[] OffX, int[]? Shifted);

/// <summary>
/// Everything about a convolution call that depends only on its geometry and shapes (index tables,
/// phases, whether to read a shifted input), worked out once and kept: a generator runs the same few
/// dozen convolutions on every call, and rebuilding the tables cost as much as a small layer's GEMM.
/// Plans are made for one sample (shapes with N = 1) and serve every batch size.
/// </summary>
/// <param name="Dense">
/// With a shifted input, whether the GEMM's columns are only the grid's real points (runs of Gb per
/// grid row, packed from the padded rows) rather than whole padded rows, junk columns included: on
/// small maps the junk would cost more multiplies than the shorter runs cost copying.
/// </param>
internal sealed record ConvPlan(int[] RowOffset, ConvPass[] Passes, ShiftedLayout? Shifted, bool Dense)
{
    /// <summary>A forward convolution of x [n, ci, h, w] into [n, co, oh, ow].</summary>
    public static ConvPlan Forward(ConvGeometry g, Shape x, Shape weight, Shape y)
    {
        var (n, ci, h, w) = x.Nchw;
        var (_, co, oh, ow) = y.Nchw;
        int k = weight[2], kk = k * k;
        var rowOffset = CpuBackend.Pinned(co);
        for (int o = 0; o < co; o++) rowOffset[o] = g.WeightTransposed ? o * kk : o * ci * kk;
        var taps = new List<(int Col, int Channel, int OffY, int OffX)>();
        for (int i = 0; i < ci; i++)
            for (int t = 0; t < kk; t++)
                taps.Add(((g.WeightTransposed ? i * co * kk : i * kk) + t, i, t / k - g.Padding, t % k - g.Padding));
        var layout = g.Stride == 1 ? new ShiftedLayout(ci, h, w, -g.Padding, k - 1 - g.Padding, -g.Padding, k - 1 - g.Padding, oh, ow) : null;
        bool dense = layout is not null && !JunkIsCheap([(oh, ow)], n, layout.Pitch);
        return new ConvPlan(rowOffset, [Pass($"forward {g}", 0, 0, oh, ow, taps, layout)], layout, dense);
    }

    /// <summary>
    /// The transposed convolution of dy [n, co, oh, ow] onto dx [n, ci, h, w], split into stride²
    /// phases (output parities): each phase is a dense convolution over only the taps that reach it, so
    /// no multiply is spent on inserted zeros.
    /// </summary>
    public static ConvPlan Transposed(ConvGeometry g, Shape dy, Shape weight, Shape dx)
    {
        var (n, co, oh, ow) = dy.Nchw;
        var (_, ci, h, w) = dx.Nchw;
        int k = weight[2], kk = k * k, s = g.Stride;
        var rowOffset = CpuBackend.Pinned(ci);
        for (int i = 0; i < ci; i++) rowOffset[i] = g.WeightTransposed ? i * co * kk : i * kk;
        var phases = new List<(int Ry, int Rx, int Ga, int Gb, List<(int Col, int Channel, int OffY, int OffX)> Taps)>();
        for (int ry = 0; ry < Math.Min(s, h); ry++)
            for (int rx = 0; rx < Math.Min(s, w); rx++)
            {
                var taps = new List<(int, int, int, int)>();
                for (int o = 0; o < co; o++)
                    foreach (var (ky, offY) in PhaseTaps(ry, g.Padding, k, s))
                        foreach (var (kx, offX) in PhaseTaps(rx, g.Padding, k, s))
                            taps.Add(((g.WeightTransposed ? o * kk : o * ci * kk) + ky * k + kx, o, offY, offX));
                phases.Add((ry, rx, Gemm.CeilDiv(h - ry, s), Gemm.CeilDiv(w - rx, s), taps));
            }
        var all = phases.SelectMany(p => p.Taps).DefaultIfEmpty().ToList();
        var layout = new ShiftedLayout(co, oh, ow, all.Min(t => t.OffY), all.Max(t => t.OffY), all.Min(t => t.OffX), all.Max(t => t.OffX),
            phases.Max(p => p.Ga), phases.Max(p => p.Gb));
        bool dense = !JunkIsCheap([.. phases.Select(p => (p.Ga, p.Gb))], n, layout.Pitch);
        return new ConvPlan(rowOffset, [.. phases.Select(p => Pass($"transposed {g} phase {p.Ry},{p.Rx}", p.Ry, p.Rx, p.Ga, p.Gb, p.Taps, layout))], layout, dense);
    }

    private static ConvPass Pass(string use, int ry, int rx, int ga, int gb, List<(int Col, int Channel, int OffY, int OffX)> taps, ShiftedLayout? layout)
    {
        int[] col = CpuBackend.Pinned(taps.Count), channel = CpuBackend.Pinned(taps.Count), offY = CpuBackend.Pinned(taps.Count), offX = CpuBackend.Pinned(taps.Count);
        int[]? shifted = layout is null ? null : CpuBackend.Pinned(taps.Count);
        for (int i = 0; i < taps.Count; i++)
        {
            (col[i], channel[i], offY[i], offX[i]) = taps[i];
            if (shifted is not null) shifted[i] = layout!.Offset(channel[i], offY[i], offX[i]);
        }
        return new ConvPass(use, ry, rx, ga, gb, taps.Count, col, channel, offY, offX, shifted);
    }

    /// <summary>
    /// Whether whole padded rows pay: their junk columns are extra GEMM columns, which on small maps (an
    /// 8x8 map's rows grow from 8 to 10, a 4x4 map's 16 outputs from half a sliver to a whole one) cost
    /// more than packing runs of Gb saves.
    /// </summary>
    private static bool JunkIsCheap(IEnumerable<(int Ga, int Gb)> grids, int n, int pitch)
    {
        long withJunk = 0, real = 0;
        foreach (var (ga, gb) in grids)
        {
            withJunk += HalfSlivers(n * ga * pitch);
            real += HalfSlivers(n * ga * gb);
        }
        return withJunk * 16 <= real * 17;
    }

    /// <summary>The micro-kernel work for this many columns, in half slivers (a tail of at most NR/2 takes the half kernel).</summary>
    private static long HalfSlivers(int columns) => 2L * (columns / Gemm.NR) + (columns % Gemm.NR) switch { 0 => 0, <= Gemm.NR / 2 => 1, _ => 2 };

    /// <summary>The taps ky that reach output rows ≡ r (mod stride), each with its input offset (r + P − ky)/stride.</summary>
    private static IEnumerable<(int Tap, int Offset)> PhaseTaps(int r, int padding, int kernel, int stride)
    {
        for (int t = 0; t < kernel; t++)
            if (((r + padding - t) % stride + stride) % stride == 0) yield return (t, (r + padding - t) / stride);
    }
}
