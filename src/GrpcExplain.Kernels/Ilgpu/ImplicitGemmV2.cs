using ILGPU;

namespace GrpcExplain.Kernels.Ilgpu;

// GEMM v2: the implicit GEMM of ImplicitGemm.cs (same lowerings, operands, split-K and epilogue)
// with an 8x8 register block per thread instead of 4x4, read from shared memory as float4s, and
// the next K-step's global loads issued into registers before the current step computes.
//
// Why: v1's 4x4 block costs one shared-memory read per two FMAs, so it is bound by shared-memory
// bandwidth. An 8x8 block read as four float4s per k does 64 FMAs per four 128-bit reads.

/// <summary>
/// Thread-block shape of GEMM v2: Side x Side threads, each owning an 8x8 block of an 8·Side-square
/// output tile, and K-steps Side/2 deep, so that every thread stages exactly four elements of A and
/// four of B per step. Side is 4 (a thread's B elements then span two columns) or a multiple of 8
/// up to 16 (one column). A struct type argument, so every size is a compile-time constant.
/// </summary>
internal interface IGemmTileV2
{
    int Side { get; }
}

/// <summary>The GPU tile: 128x128 outputs, 16x16 threads of 8x8, K-steps of 8.</summary>
internal readonly struct Tile128 : IGemmTileV2
{
    public const int Size = 128, Threads = 256, K = 8;
    public int Side => 16;
}

/// <summary>The emulator's tile: 32x32 outputs, 4x4 threads of 8x8, K-steps of 2 (the GPU code at 16 threads a group).</summary>
internal readonly struct Tile32 : IGemmTileV2
{
    public const int Size = 32, Threads = 16, K = 2;
    public int Side => 4;
}

/// <summary>Four consecutive floats: loaded from shared memory as one 128-bit read.</summary>
internal struct Float4
{
    public float X, Y, Z, W;
}

/// <summary>A global element on its way to shared memory, and the scale it is multiplied by there.</summary>
internal struct Staged
{
    public float Value, Scale;
}

/// <summary>A thread's staged share of one K-step: four elements of A, four of B.</summary>
internal struct StagedStep
{
    public Staged A0, A1, A2, A3, B0, B1, B2, B3;
}

/// <summary>A K-row's share of A's addresses (one 128-bit shared read).</summary>
internal struct ARow
{
    public int Offset, ScaleOffset, Valid, Unused;
}

/// <summary>
/// A K-row's share of B's addresses: Offset = SrcOffset + Dy·SrcW + Dx, so an element is
/// B[column.Base + row.Offset]; Dy is far outside the image when k is past the split's end.
/// </summary>
internal struct BRow
{
    public int Offset, Dy, Dx, ScaleOffset;
}

/// <summary>A B column's share: Base = SrcOffset + Y·SrcW + X; Y is far outside the image past the last column.</summary>
internal struct BColumn
{
    public int Base, Y, X, ScaleOffset;
}

/// <summary>
/// A thread's 8x8 accumulator block, in registers: Cij for row i and column j of the block, rows
/// 0-3 and 4-7 (and columns likewise) half a tile apart.
/// </summary>
internal struct Block8x8
{
    public float C00, C01, C02, C03, C04, C05, C06, C07, C10, C11, C12, C13, C14, C15, C16, C17;
    public float C20, C21, C22, C23, C24, C25, C26, C27, C30, C31, C32, C33, C34, C35, C36, C37;
    public float C40, C41, C42, C43, C44, C45, C46, C47, C50, C51, C52, C53, C54, C55, C56, C57;
    public float C60, C61, C62, C63, C64, C65, C66, C67, C70, C71, C72, C73, C74, C75, C76, C77;

    /// <summary>One rank-1 update: rows a0 (0-3) and a1 (4-7) times columns b0 (0-3) and b1 (4-7).</summary>
    public void Fma(Float4 a0, Float4 a1, Float4 b0, Float4 b1)
    {
        C00 += a0.X * b0.X; C01 += a0.X * b0.Y; C02 += a0.X * b0.Z; C03 += a0.X * b0.W;
        C04 += a0.X * b1.X; C05 += a0.X * b1.Y; C06 += a0.X * b1.Z; C07 += a0.X * b1.W;
        C10 += a0.Y * b0.X; C11 += a0.Y * b0.Y; C12 += a0.Y * b0.Z; C13 += a0.Y * b0.W;
        C14 += a0.Y * b1.X; C15 += a0.Y * b1.Y; C16 += a0.Y * b1.Z; C17 += a0.Y * b1.W;
        C20 += a0.Z * b0.X; C21 += a0.Z * b0.Y; C22 += a0.Z * b0.Z; C23 += a0.Z * b0.W;
        C24 += a0.Z * b1.X; C25 += a0.Z * b1.Y; C26 += a0.Z * b1.Z; C27 += a0.Z * b1.W;
        C30 += a0.W * b0.X; C31 += a0.W * b0.Y; C32 += a0.W * b0.Z; C33 += a0.W * b0.W;
        C34 += a0.W * b1.X; C35 += a0.W * b1.Y; C36 += a0.W * b1.Z; C37 += a0.W * b1.W;
        C40 += a1.X * b0.X; C41 += a1.X * b0.Y; C42 += a1.X * b0.Z; C43 += a1.X * b0.W;
        C44 += a1.X * b1.X; C45 += a1.X * b1.Y; C46 += a1.X * b1.Z; C47 += a1.X * b1.W;
        C50 += a1.Y * b0.X; C51 += a1.Y * b0.Y; C52 += a1.Y * b0.Z; C53 += a1.Y * b0.W;
        C54 += a1.Y * b1.X; C55 += a1.Y * b1.Y; C56 += a1.Y * b1.Z; C57 += a1.Y * b1.W;
        C60 += a1.Z * b0.X; C61 += a1.Z * b0.Y; C62 += a1.Z * b0.Z; C63 += a1.Z * b0.W;
        C64 += a1.Z * b1.X; C65 += a1.Z * b1.Y; C66 += a1.Z * b1.Z; C67 += a1.Z * b1.W;
        C70 += a1.W * b0.X; C71 += a1.W * b0.Y; C72 += a1.W * b0.Z; C73 += a1.W * b0.W;
        C74 += a1.W * b1.X; C75 += a1.W * b1.Y; C76 += a1.W * b1.Z; C77 += a1.W * b1.W;
    }
}

/// <summary>
/// GEMM v2 over the same <see cref="ConvGemmArgs"/> and lowerings as v1, with the
/// same grid (x column tiles, y row tiles, z K-splits) and results. Per K-step the group stages a
/// BM x Bk slice of A (transposed, k-major) and a Bk x BN slice of B (gathered from the image,
/// implicit im2col) in shared memory, double-buffered, with one barrier a step:
/// <code>
///   iteration s:  scale and store the registers loaded last iteration   (tile buffer s mod 2)
///                 barrier
///                 issue the global loads of step s+1 into registers
///                 every Threads/Bk steps: all threads write the next chunk of the K-row table
///                 8x8 rank-1 updates from tile buffer s mod 2
/// </code>
/// The loads are consumed only across the loop's back edge, so ptxas cannot schedule the scale
/// multiply (and with it a wait for global memory) in front of the products. The K-row table
/// (addresses per k, which cost integer divisions) is written a chunk of Threads rows at a time by
/// every thread at once, so no warp lags the others into the barrier.
/// Thread (tx, ty) owns rows 4ty..4ty+3 and BM/2 + 4ty.. of the tile, columns 4tx.. and BN/2 + 4tx..,
/// so each k reads two float4s of A (a warp: two addresses, broadcast) and two of B (a warp: 16
/// consecutive float4s, no bank conflict).
/// </summary>
internal static class ConvGemmV2
{
    private const int MaxSize = 128, MaxBk = 8, MaxThreads = 256;

    // Staged A is stored transposed (k-major, so the products read float4s along m). Padding each
    // k-row by 4 floats keeps those reads 16-byte aligned and puts the staging writes (k fastest
    // across a warp's threads) in distinct banks: bank = (4k + m) mod 32.
    private const int AStride = MaxSize + 4;
    private const int AStride4 = AStride / 4, BStride4 = MaxSize / 4;

    /// <summary>A row or column coordinate no image reaches, and no sum of two of which overflows.</summary>
    private const int Outside = -(1 << 28);

    public static void Kernel<TTile, TLowering>(ConvGemmArgs a, TLowering lowering)
        where TTile : struct, IGemmTileV2
        where TLowering : struct, IConvLoweringV2
    {
        var g = new Geometry(default(TTile).Side);

        var aTile = SharedMemory.Allocate<float>(2 * MaxBk * AStride);
        var bTile = SharedMemory.Allocate<float>(2 * MaxBk * MaxSize);
        var aRows = SharedMemory.Allocate<ARow>(2 * MaxThreads);
        var bRows = SharedMemory.Allocate<BRow>(2 * MaxThreads);

        int t = Group.IdxX, tx = t % g.Side, ty = t / g.Side;
        int m0 = Grid.IdxY * g.Size, n0 = Grid.IdxX * g.Size;
        int kBegin = Grid.IdxZ * a.KPerSplit, kEnd = XMin(a.K, kBegin + a.KPerSplit);
        int steps = (kEnd - kBegin + g.Bk - 1) / g.Bk;

        var at = new Staging
        {
            AK = t % g.Bk, AM = t / g.Bk,
            BRow = t / g.Size, BAt = t / g.Size * MaxSize + t % g.Size,
            Gm = m0 + t / g.Bk,
        };
        // The im2col position of the thread's B column (two columns, alternating with j, when the
        // group has fewer threads than the tile has columns), worked out once.
        var col0 = StageColumn(a, lowering, n0, t % g.Size);
        var col1 = g.BColumns == 2 ? StageColumn(a, lowering, n0, (t + g.Threads) % g.Size) : col0;

        WriteRows(a, lowering, aRows, bRows, 0, kBegin, kEnd, t, g);
        Group.Barrier();
        var staged = Load(a, lowering, aRows, bRows, 0, at, col0, col1, g);

        var acc = default(Block8x8);
        for (int s = 0; s < steps; s++)
        {
            int cur = s & 1;
            Commit(aTile, bTile, cur, staged, at, g);
            Group.Barrier();
            // Past the last step the rows say k is out of range: no load is issued, zeros are staged.
            staged = Load(a, lowering, aRows, bRows, s + 1, at, col0, col1, g);
            // Every ChunkSteps steps the table's next chunk replaces the chunk before the current
            // one, whose last row was loaded (iteration s - 2) before the barrier above.
            if (s % g.ChunkSteps == 0) WriteRows(a, lowering, aRows, bRows, s / g.ChunkSteps + 1, kBegin, kEnd, t, g);
            Compute(ref acc, aTile, bTile, cur, tx, ty, g);
        }

        // Epilogue, as v1's: weight gain and the output's per-(sample, channel) scale, fused into the store.
        int mLo = m0 + 4 * ty, mHi = mLo + 4 * g.Side, cLo = n0 + 4 * tx, cHi = cLo + 4 * g.Side;
        StoreColumn(a, lowering, cLo, mLo, mHi, acc.C00, acc.C10, acc.C20, acc.C30, acc.C40, acc.C50, acc.C60, acc.C70);
        StoreColumn(a, lowering, cLo + 1, mLo, mHi, acc.C01, acc.C11, acc.C21, acc.C31, acc.C41, acc.C51, acc.C61, acc.C71);
        StoreColumn(a, lowering, cLo + 2, mLo, mHi, acc.C02, acc.C12, acc.C22, acc.C32, acc.C42, acc.C52, acc.C62, acc.C72);
        StoreColumn(a, lowering, cLo + 3, mLo, mHi, acc.C03, acc.C13, acc.C23, acc.C33, acc.C43, acc.C53, acc.C63, acc.C73);
        StoreColumn(a, lowering, cHi, mLo, mHi, acc.C04, acc.C14, acc.C24, acc.C34, acc.C44, acc.C54, acc.C64, acc.C74);
        StoreColumn(a, lowering, cHi + 1, mLo, mHi, acc.C05, acc.C15, acc.C25, acc.C35, acc.C45, acc.C55, acc.C65, acc.C75);
        StoreColumn(a, lowering, cHi + 2, mLo, mHi, acc.C06, acc.C16, acc.C26, acc.C36, acc.C46, acc.C56, acc.C66, acc.C76);
        StoreColumn(a, lowering, cHi + 3, mLo, mHi, acc.C07, acc.C17, acc.C27, acc.C37, acc.C47, acc.C57, acc.C67, acc.C77);
    }

    /// <summary>The tile's compile-time sizes: Side² threads, an 8·Side square tile, K-steps Side/2 deep.</summary>
    private readonly struct Geometry(int side)
    {
        public int Side { get; } = side;
        public int Bk => Side / 2;
        public int Size => 8 * Side;
        public int Threads => Side * Side;

        /// <summary>K-steps per chunk of the K-row table: one row per thread.</summary>
        public int ChunkSteps => Threads / Bk;

        /// <summary>Tile rows between a thread's staged A elements.</summary>
        public int AMStep => Threads / Bk;

        /// <summary>Columns a thread stages B in (1 or 2), and K-rows between its elements in one column.</summary>
        public int BColumns => Size > Threads ? Size / Threads : 1;
        public int BRowStep => Threads > Size ? Threads / Size : 1;

        /// <summary>
        /// B element j of a thread is element t + j·Threads of the Bk x Size slice: its offset from
        /// element 0 in the tile (rows of MaxSize floats) and in K-rows, a constant. (No division
        /// by a ratio of sizes here: ILGPU folds both arms of a conditional, and one would be by zero.)
        /// </summary>
        public int BDelta(int j) => j % BColumns * Threads + j / BColumns * BRowStep * MaxSize;

        public int BRowDelta(int j) => j / BColumns * BRowStep;
    }

    /// <summary>Where a thread stages: A at k-row AK, tile rows AM + j·AMStep (global row Gm + ...); B at tile index BAt (K-row BRow) + BDelta(j).</summary>
    private struct Staging
    {
        public int AK, AM, BRow, BAt, Gm;
    }

    /// <summary>
    /// Chunk <paramref name="chunk"/> of the K-row table (steps chunk·ChunkSteps onwards), one row
    /// per thread, into buffer chunk mod 2: the addresses of each k worked out once, not by every
    /// thread for each element it loads.
    /// </summary>
    private static void WriteRows<TLowering>(ConvGemmArgs a, TLowering lowering, ArrayView<ARow> aRows, ArrayView<BRow> bRows, int chunk, int kBegin, int kEnd, int t, Geometry g)
        where TLowering : struct, IConvLoweringV2
    {
        int k = kBegin + chunk * g.Threads + t;
        bool valid = k < kEnd;
        // Past the end nothing is loaded, and the lowering is not asked (a phase class with no
        // taps has K = 0 and divides by its tap count).
        var r = valid ? lowering.Row(k) : default;
        int at = (chunk & 1) * MaxThreads + t;
        aRows[at] = new ARow { Offset = r.AOffset, ScaleOffset = r.AScaleOffset, Valid = valid ? 1 : 0 };
        bRows[at] = new BRow { Offset = r.SrcOffset + r.Dy * a.SrcW + r.Dx, Dy = valid ? r.Dy : Outside, Dx = r.Dx, ScaleOffset = r.ScaleOffset };
    }

    private static BColumn StageColumn<TLowering>(ConvGemmArgs a, TLowering lowering, int n0, int column)
        where TLowering : struct, IConvLoweringV2
    {
        var c = lowering.Column(n0 + column);
        return new BColumn { Base = c.SrcOffset + c.Y * a.SrcW + c.X, Y = n0 + column < a.Columns ? c.Y : Outside, X = c.X, ScaleOffset = c.ScaleOffset };
    }

    /// <summary>Issues the thread's global loads of K-step <paramref name="step"/> of the split; nothing waits on them here.</summary>
    private static StagedStep Load<TLowering>(ConvGemmArgs a, TLowering lowering, ArrayView<ARow> aRows, ArrayView<BRow> bRows, int step, Staging at, BColumn col0, BColumn col1, Geometry g)
        where TLowering : struct, IConvLoweringV2
    {
        int rows = (step / g.ChunkSteps & 1) * MaxThreads + step % g.ChunkSteps * g.Bk;
        var aRow = aRows[rows + at.AK];
        var b = bRows.SubView(rows + at.BRow);
        return new StagedStep
        {
            A0 = LoadA(a, lowering, aRow, at.Gm),
            A1 = LoadA(a, lowering, aRow, at.Gm + g.AMStep),
            A2 = LoadA(a, lowering, aRow, at.Gm + 2 * g.AMStep),
            A3 = LoadA(a, lowering, aRow, at.Gm + 3 * g.AMStep),
            B0 = LoadB(a, col0, b[g.BRowDelta(0)]),
            B1 = LoadB(a, g.BColumns == 1 ? col0 : col1, b[g.BRowDelta(1)]),
            B2 = LoadB(a, col0, b[g.BRowDelta(2)]),
            B3 = LoadB(a, g.BColumns == 1 ? col0 : col1, b[g.BRowDelta(3)]),
        };
    }

    // Each load under one flat condition, which ptxas turns into a predicated load.
    private static Staged LoadA<TLowering>(ConvGemmArgs a, TLowering lowering, ARow row, int gm)
        where TLowering : struct, IConvLoweringV2
    {
        bool ok = (row.Valid != 0) & (gm < a.M);
        var v = new Staged { Value = 0, Scale = 1 };
        if (ok) v.Value = a.A[gm * a.AStrideM + row.Offset];
        // A constant false for the lowerings whose A never has a scale: four registers fewer.
        if (lowering.ScalesA & ok & (a.HasAScale != 0)) v.Scale = a.AScale[row.ScaleOffset + gm];
        return v;
    }

    private static Staged LoadB(ConvGemmArgs a, BColumn column, BRow row)
    {
        int iy = column.Y + row.Dy, ix = column.X + row.Dx;
        bool ok = ((uint)iy < (uint)a.SrcH) & ((uint)ix < (uint)a.SrcW);
        var v = new Staged { Value = 0, Scale = 1 };
        if (ok) v.Value = a.B[column.Base + row.Offset];
        if (ok & (a.HasBScale != 0)) v.Scale = a.BScale[column.ScaleOffset + row.ScaleOffset];
        return v;
    }

    /// <summary>Stores a staged step into tile <paramref name="buffer"/>, scales multiplied in (as v1 does when it loads).</summary>
    private static void Commit(ArrayView<float> aTile, ArrayView<float> bTile, int buffer, StagedStep s, Staging at, Geometry g)
    {
        // Views at the thread's first element, so every other element is a constant offset away.
        var aAt = aTile.SubView((buffer * MaxBk + at.AK) * AStride + at.AM);
        aAt[0] = s.A0.Value * s.A0.Scale;
        aAt[g.AMStep] = s.A1.Value * s.A1.Scale;
        aAt[2 * g.AMStep] = s.A2.Value * s.A2.Scale;
        aAt[3 * g.AMStep] = s.A3.Value * s.A3.Scale;
        var bAt = bTile.SubView(buffer * MaxBk * MaxSize + at.BAt);
        bAt[0] = s.B0.Value * s.B0.Scale;
        bAt[g.BDelta(1)] = s.B1.Value * s.B1.Scale;
        bAt[g.BDelta(2)] = s.B2.Value * s.B2.Scale;
        bAt[g.BDelta(3)] = s.B3.Value * s.B3.Scale;
    }

    /// <summary>
    /// The step's rank-1 updates from tile <paramref name="buffer"/>, unrolled by hand (ILGPU emits
    /// loops as written, and ptxas overlaps one k's shared reads with the previous k's FMAs only in
    /// straight-line code); Bk is 2 or 8.
    /// </summary>
    private static void Compute(ref Block8x8 acc, ArrayView<float> aTile, ArrayView<float> bTile, int buffer, int tx, int ty, Geometry g)
    {
        // Views at the thread's float4s of k = 0, so every read is a constant offset away.
        var a4 = aTile.Cast<Float4>().SubView(buffer * MaxBk * AStride4 + ty);
        var b4 = bTile.Cast<Float4>().SubView(buffer * MaxBk * BStride4 + tx);
        Rank1(ref acc, a4, b4, 0, g.Side);
        Rank1(ref acc, a4, b4, 1, g.Side);
        if (g.Bk > 2)
        {
            Rank1(ref acc, a4, b4, 2, g.Side);
            Rank1(ref acc, a4, b4, 3, g.Side);
            Rank1(ref acc, a4, b4, 4, g.Side);
            Rank1(ref acc, a4, b4, 5, g.Side);
            Rank1(ref acc, a4, b4, 6, g.Side);
            Rank1(ref acc, a4, b4, 7, g.Side);
        }
    }

    /// <summary>Row k of the tiles: the thread's rows 4ty.. and BM/2 + 4ty.. (float4s <paramref name="side"/> apart), likewise its columns.</summary>
    private static void Rank1(ref Block8x8 acc, ArrayView<Float4> a4, ArrayView<Float4> b4, int k, int side) =>
        acc.Fma(a4[k * AStride4], a4[k * AStride4 + side], b4[k * BStride4], b4[k * BStride4 + side]);

    /// <summary>One output column of the thread's block: rows mLo..mLo+3 (v0-v3) and mHi..mHi+3 (v4-v7).</summary>
    private static void StoreColumn<TLowering>(ConvGemmArgs a, TLowering lowering, int c, int mLo, int mHi, float v0, float v1, float v2, float v3, float v4, float v5, float v6, float v7)
        where TLowering : struct, IConvLoweringV2
    {
        if (c >= a.Columns) return;
        var oc = lowering.Column(c);
        int outBase = oc.OutOffset + Grid.IdxZ * a.OutSplitStride;
        Store(a, oc, outBase, mLo, v0);
        Store(a, oc, outBase, mLo + 1, v1);
        Store(a, oc, outBase, mLo + 2, v2);
        Store(a, oc, outBase, mLo + 3, v3);
        Store(a, oc, outBase, mHi, v4);
        Store(a, oc, outBase, mHi + 1, v5);
        Store(a, oc, outBase, mHi + 2, v6);
        Store(a, oc, outBase, mHi + 3, v7);
    }

    private static void Store(ConvGemmArgs a, GemmColumn oc, int outBase, int m, float acc)
    {
        if (m >= a.M) return;
        float v = acc * a.Gain;
        if (a.HasOutScale != 0) v *= a.OutScale[oc.OutScaleOffset + m];
        a.Out[outBase + m * a.OutStrideM] = v;
    }

    private static int XMin(int a, int b) => a < b ? a : b;
}
