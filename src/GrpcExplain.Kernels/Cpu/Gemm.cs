using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GrpcExplain.Kernels.Cpu;

/// <summary>Packs rows [m0, m0+mc) x depth [k0, k0+kc) of A into slivers of MR rows, each [kc][MR], zero-padded.</summary>
internal unsafe interface IPackA
{
    void Pack(int m0, int mc, int k0, int kc, float* dst);
}

/// <summary>Packs depth [k0, k0+kc) x columns [j0, j0+nc) of B into slivers of NR columns, each [kc][NR], zero-padded.</summary>
internal unsafe interface IPackB
{
    void Pack(int k0, int kc, int j0, int nc, float* dst);
}

/// <summary>Places finished rows x cols of C (at tile, row stride ldc) at their destination.</summary>
internal unsafe interface IStoreC
{
    void Store(int m0, int rows, int j0, int cols, float* tile, int ldc);
}

/// <summary>
/// C[M x N] = A[M x K] · B[K x N] in the GotoBLAS/BLIS style: operands are packed block by block by
/// the caller's packers (which is where convolutions do their im2col gathers and channel scales), a
/// register-blocked MR x NR micro-kernel runs over the packed slivers into a contiguous block of C
/// per task, and once the whole depth is summed a storer places the block (scattering and scaling as
/// the convolution needs). Column blocks go to threads.
/// </summary>
internal static unsafe class Gemm
{
    public const int MR = MicroKernels.MR, NR = MicroKernels.NR;

    /// <summary>
    /// Depth of a packed block. 384 rather than 256: slivers 32 KiB apart alias in L1 and cost a third
    /// of the speed of the weight-gradient GEMM (measured on Zen 4).
    /// </summary>
    public const int KC = 384;

    /// <summary>Columns per task: the packed B block (KC x NC) stays in L2.</summary>
    public const int NC = 192;

    /// <summary>Most rows per task: the slice of packed A one depth block uses (MC x KC) stays in L2.</summary>
    public const int MC = 512;

    /// <summary>C = A·B, packing A for this call only.</summary>
    public static void Run<TA, TB, TC>(CpuBackend cpu, int m, int n, int k, TA a, TB b, TC c)
        where TA : unmanaged, IPackA where TB : unmanaged, IPackB where TC : unmanaged, IStoreC
    {
        if (m == 0 || n == 0) return;
        var packed = PackA(cpu, m, k, a);
        Run(cpu, m, n, k, packed, b, c);
    }

    /// <summary>
    /// A packed whole, depth block by depth block, each holding every MR-row sliver as [kc][MR]; the
    /// column blocks then share it. Weights keep theirs between calls (CpuBackend's packed-weight cache).
    /// </summary>
    public static float[] PackA<TA>(CpuBackend cpu, int m, int k, TA a) where TA : unmanaged, IPackA
    {
        int mPadded = RoundUp(m, MR), kBlocks = CeilDiv(k, KC);
        var packed = GC.AllocateUninitializedArray<float>(Math.Max(1, mPadded * k), pinned: true);
        fixed (float* p = packed)
        {
            float* pp = p;
            cpu.For(kBlocks, kb => a.Pack(0, m, kb * KC, Math.Min(KC, k - kb * KC), pp + (long)kb * KC * mPadded), (long)m * KC);
        }
        return packed;
    }

    /// <summary>C = A·B with A packed by <see cref="PackA"/>.</summary>
    public static void Run<TB, TC>(CpuBackend cpu, int m, int n, int k, float[] packedA, TB b, TC c)
        where TB : unmanaged, IPackB where TC : unmanaged, IStoreC =>
        RunMany(cpu, [new Product<TB, TC>(m, n, k, packedA, b, c)]);

    /// <summary>One product of <see cref="RunMany"/>: C = A·B with A packed by <see cref="PackA"/>.</summary>
    public readonly record struct Product<TB, TC>(int M, int N, int K, float[] PackedA, TB B, TC C)
        where TB : unmanaged, IPackB where TC : unmanaged, IStoreC;

    /// <summary>
    /// Several independent products (the phases of a transposed convolution) as one parallel loop over
    /// all their blocks: one fork and join instead of one per product, and threads that finish a small
    /// product's blocks take the next product's.
    /// </summary>
    public static void RunMany<TB, TC>(CpuBackend cpu, Product<TB, TC>[] products)
        where TB : unmanaged, IPackB where TC : unmanaged, IStoreC
    {
        var plans = new (int MBlocks, int Mc, int Nc, int First)[products.Length];
        int tasks = 0;
        long work = 0;
        for (int p = 0; p < products.Length; p++)
        {
            var (m, n, k) = (products[p].M, products[p].N, products[p].K);
            if (m == 0 || n == 0)
            {
                plans[p] = (0, 0, 0, tasks);
                continue;
            }
            // Enough column blocks to give every thread work, as wide as NC allows.
            int nc = Math.Min(NC, RoundUp(CeilDiv(n, cpu.Threads), NR));
            int nBlocks = CeilDiv(n, nc);
            int mBlocks = CeilDiv(m, MC);
            if (nBlocks < cpu.Threads && m >= 2 * MR * cpu.Threads) mBlocks = Math.Max(mBlocks, cpu.Threads);
            int mc = RoundUp(CeilDiv(m, mBlocks), MR);
            mBlocks = CeilDiv(m, mc);
            plans[p] = (mBlocks, mc, nc, tasks);
            tasks += mBlocks * nBlocks;
            work = Math.Max(work, (long)Math.Min(m, mc) * Math.Min(n, nc) * Math.Max(k, 1));
        }
        var kernels = MicroKernels.For(cpu.Isa);
        cpu.For(tasks, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (task) =>
        {
            int p = products.Length - 1;
            while (plans[p].First > task || plans[p].MBlocks == 0) p--;
            var (m, n, k, packedA, b, c) = products[p];
            var (mBlocks, mc, nc, first) = plans[p];
            int local = task - first, m0 = local % mBlocks * mc, j0 = local / mBlocks * nc;
            int rows = Math.Min(mc, m - m0), cols = Math.Min(nc, n - j0);
            int ldc = RoundUp(nc, NR), mPadded = RoundUp(m, MR);
            var buffers = Buffers.ForThisThread((long)RoundUp(nc, NR) * KC, (long)RoundUp(mc, MR) * RoundUp(nc, NR));
            float* bBlock = buffers.B, cBlock = buffers.C;
            if (k == 0) new Span<float>(cBlock, RoundUp(rows, MR) * ldc).Clear();
            fixed (float* ap = packedA)
                for (int k0 = 0; k0 < k; k0 += KC)
                {
                    int kc = Math.Min(KC, k - k0);
                    b.Pack(k0, kc, j0, cols, bBlock);
                    kernels.Block(kc, ap + (long)k0 * mPadded + (long)m0 * kc, rows, bBlock, cols, cBlock, ldc, k0 > 0);
                }
            c.Store(m0, rows, j0, cols, cBlock, ldc);
        }, work);
    }

    public static int CeilDiv(int a, int b) => (a + b - 1) / b;
    public static int RoundUp(int a, int b) => CeilDiv(a, b) * b;

    /// <summary>
    /// 64-byte aligned buffers for packed B blocks and a task's C block, one set per worker thread, grown
    /// on demand; a task of <see cref="RunMany"/> or of <see cref="Winograd"/> (whose 16 of each share them).
    /// </summary>
    internal sealed class Buffers
    {
        [ThreadStatic] private static Buffers? _mine;
        private nuint _bCapacity, _cCapacity;
        public float* B, C;

        public static Buffers ForThisThread(long bFloats, long cFloats)
        {
            var buf = _mine ??= new Buffers();
            Ensure(ref buf.B, ref buf._bCapacity, (nuint)bFloats);
            Ensure(ref buf.C, ref buf._cCapacity, (nuint)cFloats);
            return buf;
        }

        private static void Ensure(ref float* p, ref nuint capacity, nuint floats)
        {
            if (capacity >= floats) return;
            NativeMemory.AlignedFree(p);
            p = (float*)NativeMemory.AlignedAlloc(floats * sizeof(float), 64);
            capacity = floats;
        }
    }
}
