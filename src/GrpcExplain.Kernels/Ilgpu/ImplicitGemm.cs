using ILGPU;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

/// <summary>
/// Thread-block shape of the implicit GEMM: ThreadsX x ThreadsY threads, each owning a 4x4 block of
/// the output tile, so a tile is (4·ThreadsY) rows by (4·ThreadsX) columns; Bk, the K-step, is a
/// multiple of 4 and at most 16, and ThreadsY a multiple of 4 (each thread then loads a fixed B column).
/// A struct type argument, so every size is a compile-time constant in the generated kernel.
/// </summary>
internal interface IGemmTile
{
    int ThreadsX { get; }
    int ThreadsY { get; }
    int Bk { get; }
}

/// <summary>The GPU tile: 64x64 outputs, 16x16 threads, K-steps of 16.</summary>
internal readonly struct Tile64 : IGemmTile
{
    public const int Size = 64, Threads = 256, K = 16;
    public int ThreadsX => Size / 4;
    public int ThreadsY => Size / 4;
    public int Bk => K;
}

/// <summary>The emulator's tile: 16x16 outputs, 4x4 threads, K-steps of 8 (same code, fewer threads per barrier).</summary>
internal readonly struct Tile16 : IGemmTile
{
    public const int Size = 16, Threads = 16, K = 8;
    public int ThreadsX => Size / 4;
    public int ThreadsY => Size / 4;
    public int Bk => K;
}

/// <summary>
/// Where one GEMM column reads and writes. B[k, col] = B[SrcOffset + row.SrcOffset + iy·SrcW + ix]
/// with iy = Y + row.Dy, ix = X + row.Dx (zero outside the SrcH x SrcW plane), times
/// BScale[ScaleOffset + row.ScaleOffset]; C[m, col] goes to Out[OutOffset + m·OutStrideM], times
/// OutScale[OutScaleOffset + m].
/// </summary>
internal struct GemmColumn
{
    public int SrcOffset, Y, X, ScaleOffset, OutOffset, OutScaleOffset;
}

/// <summary>The K-index's share of the addresses: A[m, k] = A[m·AStrideM + AOffset]·AScale[AScaleOffset + m].</summary>
internal struct GemmRow
{
    public int AOffset, AScaleOffset, SrcOffset, Dy, Dx, ScaleOffset;
}

/// <summary>How a convolution primitive maps onto the GEMM: the im2col index arithmetic, nothing else.</summary>
internal interface IConvLowering
{
    GemmColumn Column(int col);
    GemmRow Row(int k);
}

/// <summary>Operands, sizes and epilogue of one implicit GEMM C[M, Columns] = A[M, K]·B[K, Columns].</summary>
internal struct ConvGemmArgs
{
    public Floats A, AScale, B, BScale, Out, OutScale;
    public int M, Columns, K, KPerSplit;
    public int AStrideM, SrcH, SrcW, OutStrideM, OutSplitStride;
    public int HasAScale, HasBScale, HasOutScale;
    public float Gain;
}

/// <summary>A thread's 4x4 accumulator block, in registers.</summary>
internal struct Block4x4
{
    public float C00, C01, C02, C03, C10, C11, C12, C13, C20, C21, C22, C23, C30, C31, C32, C33;

    public void Fma(float a0, float a1, float a2, float a3, float b0, float b1, float b2, float b3)
    {
        C00 += a0 * b0; C01 += a0 * b1; C02 += a0 * b2; C03 += a0 * b3;
        C10 += a1 * b0; C11 += a1 * b1; C12 += a1 * b2; C13 += a1 * b3;
        C20 += a2 * b0; C21 += a2 * b1; C22 += a2 * b2; C23 += a2 * b3;
        C30 += a3 * b0; C31 += a3 * b1; C32 += a3 * b2; C33 += a3 * b3;
    }

    public readonly float Get(int i, int j) => (i * 4 + j) switch
    {
        0 => C00, 1 => C01, 2 => C02, 3 => C03,
        4 => C10, 5 => C11, 6 => C12, 7 => C13,
        8 => C20, 9 => C21, 10 => C22, 11 => C23,
        12 => C30, 13 => C31, 14 => C32, _ => C33,
    };
}

/// <summary>
/// The one tiled GEMM behind every convolution primitive. Per K-step the group stages a BM x Bk
/// slice of A and a Bk x BN slice of B in shared memory, B gathered straight from the image
/// (implicit im2col, the per-channel scale multiplied in as it loads), then each thread
/// accumulates its 4x4 block. Threads own rows ty + i·ThreadsY and columns tx + j·ThreadsX, so a
/// warp's shared reads are broadcasts or consecutive and its output writes are consecutive pixels.
/// Grid: x over column tiles, y over row tiles, z over K-splits (each writes its own partial).
/// </summary>
internal static class ConvGemm
{
    private const int MaxBm = 64, MaxBn = 64, MaxBk = 16;

    // A's shared rows are padded by one so the transposing store (k fastest across threads) does
    // not put a warp's writes in one bank.
    private const int AStride = MaxBm + 1;

    // The per-K-row addresses are computed once per step by Bk threads and shared, instead of
    // every thread dividing k by the kernel size for each element it loads.
    private const int RowValid = 0, RowA = 1, RowAScale = 2, RowSrc = 3, RowDy = 4, RowDx = 5, RowScale = 6, RowFields = 7;

    public static void Kernel<TTile, TLowering>(ConvGemmArgs a, TLowering lowering)
        where TTile : struct, IGemmTile
        where TLowering : struct, IConvLowering
    {
        var tile = default(TTile);
        int threadsX = tile.ThreadsX, threadsY = tile.ThreadsY, bk = tile.Bk;
        int bm = 4 * threadsY, bn = 4 * threadsX, threads = threadsX * threadsY;

        var aTile = SharedMemory.Allocate<float>(MaxBk * AStride);
        var bTile = SharedMemory.Allocate<float>(MaxBk * MaxBn);
        var rows = SharedMemory.Allocate<int>(RowFields * MaxBk);

        int tid = Group.IdxX, tx = tid % threadsX, ty = tid / threadsX;
        int m0 = Grid.IdxY * bm, n0 = Grid.IdxX * bn;
        int kBegin = Grid.IdxZ * a.KPerSplit, kEnd = XMin(a.K, kBegin + a.KPerSplit);

        // Each thread loads the same B column at every step (threads is a multiple of bn), so
        // its im2col position is worked out once.
        int bCol = tid % bn, bRow0 = tid / bn, bRowStep = threads / bn;
        bool bColValid = n0 + bCol < a.Columns;
        var col = lowering.Column(n0 + bCol);
        // Likewise each thread loads A at one k of the step, for several rows m.
        int aK = tid % bk, aM0 = tid / bk, aMStep = threads / bk;

        var acc = default(Block4x4);
        for (int k0 = kBegin; k0 < kEnd; k0 += bk)
        {
            // Safe without a barrier before it: rows are only read between the two barriers below.
            if (tid < bk)
            {
                int k = k0 + tid;
                var r = lowering.Row(k);
                rows[RowValid * MaxBk + tid] = k < kEnd ? 1 : 0;
                rows[RowA * MaxBk + tid] = r.AOffset;
                rows[RowAScale * MaxBk + tid] = r.AScaleOffset;
                rows[RowSrc * MaxBk + tid] = r.SrcOffset;
                rows[RowDy * MaxBk + tid] = r.Dy;
                rows[RowDx * MaxBk + tid] = r.Dx;
                rows[RowScale * MaxBk + tid] = r.ScaleOffset;
            }
            // Also guarantees everyone finished the previous step's products before the tiles change.
            Group.Barrier();

            bool aValid = rows[RowValid * MaxBk + aK] != 0;
            int aOffset = rows[RowA * MaxBk + aK], aScaleOffset = rows[RowAScale * MaxBk + aK];
            for (int m = aM0; m < bm; m += aMStep)
            {
                int gm = m0 + m;
                float v = 0;
                if (aValid && gm < a.M)
                {
                    v = a.A[gm * a.AStrideM + aOffset];
                    if (a.HasAScale != 0) v *= a.AScale[aScaleOffset + gm];
                }
                aTile[aK * AStride + m] = v;
            }

            for (int kk = bRow0; kk < bk; kk += bRowStep)
            {
                int iy = col.Y + rows[RowDy * MaxBk + kk], ix = col.X + rows[RowDx * MaxBk + kk];
                float v = 0;
                if (bColValid && rows[RowValid * MaxBk + kk] != 0 && iy >= 0 && iy < a.SrcH && ix >= 0 && ix < a.SrcW)
                {
                    v = a.B[col.SrcOffset + rows[RowSrc * MaxBk + kk] + iy * a.SrcW + ix];
                    if (a.HasBScale != 0) v *= a.BScale[col.ScaleOffset + rows[RowScale * MaxBk + kk]];
                }
                bTile[kk * MaxBn + bCol] = v;
            }
            Group.Barrier();

            // Unrolled by hand (bk is a multiple of 4): ILGPU emits the loop as written.
            for (int kk = 0; kk < bk; kk += 4)
            {
                Accumulate(ref acc, aTile, bTile, kk, tx, ty, threadsX, threadsY);
                Accumulate(ref acc, aTile, bTile, kk + 1, tx, ty, threadsX, threadsY);
                Accumulate(ref acc, aTile, bTile, kk + 2, tx, ty, threadsX, threadsY);
                Accumulate(ref acc, aTile, bTile, kk + 3, tx, ty, threadsX, threadsY);
            }
        }

        // Epilogue: weight gain and the output's per-(sample, channel) scale, fused into the store.
        for (int j = 0; j < 4; j++)
        {
            int c = n0 + tx + j * threadsX;
            if (c >= a.Columns) continue;
            var oc = lowering.Column(c);
            int outBase = oc.OutOffset + Grid.IdxZ * a.OutSplitStride;
            for (int i = 0; i < 4; i++)
            {
                int m = m0 + ty + i * threadsY;
                if (m >= a.M) continue;
                float v = acc.Get(i, j) * a.Gain;
                if (a.HasOutScale != 0) v *= a.OutScale[oc.OutScaleOffset + m];
                a.Out[outBase + m * a.OutStrideM] = v;
            }
        }
    }

    /// <summary>One rank-1 update of the thread's 4x4 block from row kk of the staged tiles.</summary>
    private static void Accumulate(ref Block4x4 acc, ArrayView<float> aTile, ArrayView<float> bTile, int kk, int tx, int ty, int threadsX, int threadsY)
    {
        int ar = kk * AStride + ty, br = kk * MaxBn + tx;
        acc.Fma(
            aTile[ar], aTile[ar + threadsY], aTile[ar + 2 * threadsY], aTile[ar + 3 * threadsY],
            bTile[br], bTile[br + threadsX], bTile[br + 2 * threadsX], bTile[br + 3 * threadsX]);
    }

    private static int XMin(int a, int b) => a < b ? a : b;
}
