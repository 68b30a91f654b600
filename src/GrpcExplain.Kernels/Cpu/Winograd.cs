using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GrpcExplain.Kernels.Cpu;

/// <summary>
/// Stride-1, padding-1 3x3 forward convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and
/// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 2x2 output tile is
/// Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over its 4x4 input patch d, so the convolution is 16 GEMMs [co x ci]·[ci x tiles],
/// 16 multiplies per tile and channel pair instead of 36. The transformed weights are made and packed
/// once per weight version. Each task transforms its block of input tiles straight into the GEMM's
/// packed slivers and its 16 products straight back to output rows (scale, then the epilogue), so the
/// 16-per-tile intermediates stay in the thread's cache. Coefficients are 0, ±1 and ±½: results differ
/// from the direct sum by rounding only.
/// </summary>
internal static unsafe class Winograd
{
    /// <summary>Smallest map (pixels) worth it by default: at 8x8 (16 tiles, half a sliver) it measured no faster than the direct GEMM.</summary>
    public const int DefaultMinPixels = 256;

    private const int Positions = 16;

    /// <summary>Floats between consecutive blocks beyond their size: one cache line.</summary>
    private const int AntiAlias = 16;

    public static bool Applies(Shape x, Shape weight, ConvGeometry g, int minPixels) =>
        g is { Stride: 1, Padding: 1, WeightTransposed: false } && weight[2] == 3 && weight[3] == 3
        && x[2] % 2 == 0 && x[3] % 2 == 0 && x[2] * x[3] >= minPixels;

    /// <summary>y = bias_act(conv(x·inScale, W·gain)·outScale).</summary>
    public static void Forward(CpuBackend cpu, Tensor x, Tensor weight, Tensor y, float gain, Tensor? inScale, Tensor? outScale, EpilogueArgs epilogue)
    {
        var (n, ci, h, w) = x.Shape.Nchw;
        int co = weight.Shape[0], tw = w / 2, tiles = n * (h / 2) * tw;
        var u = cpu.WinogradWeights(weight, gain);
        var prepared = Prepare(cpu, x, inScale);
        try
        {
            // Per task: 16 packed B blocks (kc x nc) and 16 C blocks (mc x nc), each set about 64K floats
            // (256 KiB) when the depth allows, so that both stay in the core's L2 with the weights' slivers.
            int kc = Math.Min(ci, Gemm.KC);
            int nc = Math.Max(Gemm.NR, 4096 / kc / Gemm.NR * Gemm.NR);
            nc = Math.Min(nc, Gemm.RoundUp(Gemm.CeilDiv(tiles, cpu.Threads), Gemm.NR));
            int mc = Math.Min(Gemm.RoundUp(co, Gemm.MR), Math.Max(Gemm.MR, 4096 / nc / Gemm.MR * Gemm.MR));
            int nBlocks = Gemm.CeilDiv(tiles, nc);
            // Too few column blocks for the threads: split the rows too (each row block transforms its input again).
            if (nBlocks < cpu.Threads) mc = Math.Min(mc, Math.Max(Gemm.MR, Gemm.RoundUp(Gemm.CeilDiv(co, cpu.Threads), Gemm.MR)));
            int mBlocks = Gemm.CeilDiv(co, mc);
            var job = new Job(Pointer(prepared), n, ci, h, w, co, u, CpuBackend.P(y), CpuBackend.P(outScale), epilogue,
                nc, mc, mBlocks, MicroKernels.For(cpu.Isa));
            cpu.For(mBlocks * nBlocks, job.Run, (long)Math.Min(mc, co) * nc * ci * Positions);
        }
        finally
        {
            cpu.Return(prepared);
        }
    }

    /// <summary>
    /// The zero-bordered input, scaled per channel, with even and odd columns of each padded row apart:
    /// row r of a plane holds E[q] = padded[r][2q] then O[q] = padded[r][2q + 1], q = 0..W/2, so tile
    /// column tc reads E[tc], O[tc], E[tc + 1], O[tc + 1] and a run of tiles reads four contiguous vectors.
    /// </summary>
    private static float[] Prepare(CpuBackend cpu, Tensor x, Tensor? scale)
    {
        var (n, c, h, w) = x.Shape.Nchw;
        int half = w / 2 + 1, pitch = 2 * half, plane = (h + 2) * pitch;
        var data = cpu.RentUninitialized(n * c * plane);
        float* xd = CpuBackend.P(x), s = CpuBackend.P(scale), dd = Pointer(data);
        cpu.For(n * c, p =>
        {
            float sc = s == null ? 1f : s[p];
            float* dst = dd + (long)p * plane;
            GatherB.Zero(dst, pitch);
            GatherB.Zero(dst + (h + 1) * pitch, pitch);
            for (int r = 0; r < h; r++)
            {
                float* e = dst + (r + 1) * pitch, o = e + half;
                e[0] = 0;
                o[half - 1] = 0;
                SplitRow(xd + ((long)p * h + r) * w, w / 2, sc, o, e + 1);
            }
        }, (long)h * w);
        return data;
    }

    /// <summary>even[q] = from[2q]·sc, odd[q] = from[2q + 1]·sc for q &lt; count.</summary>
    private static void SplitRow(float* from, int count, float sc, float* even, float* odd)
    {
        int q = 0;
        if (Avx2.IsSupported)
        {
            var vs = Vector256.Create(sc);
            for (; q + 8 <= count; q += 8)
            {
                var a = Avx.LoadVector256(from + 2 * q) * vs;
                var b = Avx.LoadVector256(from + 2 * q + 8) * vs;
                // Per 128-bit lane a0 a2 b0 b2 (and a1 a3 b1 b3); then the 64-bit pairs put in order.
                var evens = Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble();
                var odds = Avx.Shuffle(a, b, 0b11_01_11_01).AsDouble();
                Avx.Store(even + q, Avx2.Permute4x64(evens, 0b11_01_10_00).AsSingle());
                Avx.Store(odd + q, Avx2.Permute4x64(odds, 0b11_01_10_00).AsSingle());
            }
        }
        for (; q < count; q++)
        {
            even[q] = from[2 * q] * sc;
            odd[q] = from[2 * q + 1] * sc;
        }
    }

    private static float* Pointer(float[] pinned) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));

    /// <summary>U[ξ = 4a + b][o, i] = (G g[o, i] Gᵀ)[a, b]·gain, each position's [co x ci] packed as the GEMM's A.</summary>
    internal static float[][] TransformWeights(CpuBackend cpu, Tensor weight, float gain)
    {
        var (co, ci, _, _) = weight.Shape.Nchw;
        float[] wd = CpuBackend.D(weight);
        var u = new float[Positions][];
        for (int xi = 0; xi < Positions; xi++) u[xi] = GC.AllocateUninitializedArray<float>(co * ci);
        cpu.For(co, o =>
        {
            Span<double> gt = stackalloc double[12]; // G g: 4 x 3
            for (int i = 0; i < ci; i++)
            {
                var g = wd.AsSpan((o * ci + i) * 9, 9);
                for (int kx = 0; kx < 3; kx++)
                {
                    double g0 = g[kx], g1 = g[3 + kx], g2 = g[6 + kx];
                    gt[kx] = g0;
                    gt[3 + kx] = (g0 + g1 + g2) / 2;
                    gt[6 + kx] = (g0 - g1 + g2) / 2;
                    gt[9 + kx] = g2;
                }
                for (int a = 0; a < 4; a++)
                {
                    double r0 = gt[3 * a], r1 = gt[3 * a + 1], r2 = gt[3 * a + 2];
                    u[4 * a][o * ci + i] = (float)(r0 * gain);
                    u[4 * a + 1][o * ci + i] = (float)((r0 + r1 + r2) / 2 * gain);
                    u[4 * a + 2][o * ci + i] = (float)((r0 - r1 + r2) / 2 * gain);
                    u[4 * a + 3][o * ci + i] = (float)(r2 * gain);
                }
            }
        }, (long)ci * 64);
        var packed = new float[Positions][];
        for (int xi = 0; xi < Positions; xi++)
            fixed (float* p = u[xi]) packed[xi] = Gemm.PackA(cpu, co, ci, new RowMajorA(p, co, ci));
        return packed;
    }

    /// <summary>One convolution's tasks: task = (row block, column block of tiles).</summary>
    private sealed class Job(float* src, int n, int ci, int h, int w, int co, float[][] u, float* y, float* outScale, EpilogueArgs epilogue,
        int nc, int mc, int mBlocks, MicroKernels.Set kernels)
    {
        private readonly int _th = h / 2, _tw = w / 2, _pitch = 2 * (w / 2 + 1), _tiles = n * (h / 2) * (w / 2);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int m0 = task % mBlocks * mc, j0 = task / mBlocks * nc;
            int rows = Math.Min(mc, co - m0), cols = Math.Min(nc, _tiles - j0);
            int ldc = Gemm.RoundUp(nc, Gemm.NR), mPadded = Gemm.RoundUp(co, Gemm.MR), mcPadded = Gemm.RoundUp(mc, Gemm.MR);
            // The 16 blocks of B and of C one cache line past a multiple of 4 KiB apart: the transforms touch
            // all 16 at once, and 16 streams at a 4 KiB multiple would share one L1 set.
            long cStride = (long)mcPadded * ldc + AntiAlias;
            var buffers = Gemm.Buffers.ForThisThread(Positions * ((long)Math.Min(ci, Gemm.KC) * ldc + AntiAlias), Positions * cStride);
            float* bBlocks = buffers.B, cBlocks = buffers.C;
            for (int k0 = 0; k0 < ci; k0 += Gemm.KC)
            {
                int kc = Math.Min(Gemm.KC, ci - k0);
                long bStride = (long)kc * ldc + AntiAlias;
                TransformInput(k0, kc, j0, cols, bBlocks, bStride);
                for (int xi = 0; xi < Positions; xi++)
                {
                    kernels.Block(kc, Pointer(u[xi]) + (long)k0 * mPadded + (long)m0 * kc, rows, bBlocks + xi * bStride, cols, cBlocks + xi * cStride, ldc, k0 > 0);
                }
            }
            TransformOutput(m0, rows, j0, cols, cBlocks, cStride, ldc);
        }

        /// <summary>Bᵀ d B of tiles j0.. for channels k0..k0+kc, into the 16 packed B blocks (slivers [kc][NR]).</summary>
        private void TransformInput(int k0, int kc, int j0, int cols, float* blocks, long blockStride)
        {
            int half = _tw + 1;
            for (int s = 0; s < cols; s += Gemm.NR)
            {
                int sliverCols = Math.Min(Gemm.NR, cols - s);
                for (int t = 0; t < sliverCols;)
                {
                    int j = j0 + s + t, sample = j / (_th * _tw), tr = j / _tw % _th, tc = j % _tw, len = Math.Min(_tw - tc, sliverCols - t);
                    for (int c = 0; c < kc; c++)
                    {
                        float* rows = src + ((long)(sample * ci + k0 + c) * (h + 2) + 2 * tr) * _pitch + tc;
                        TransformRun(rows, _pitch, half, len, blocks + (long)s * kc + c * Gemm.NR + t, blockStride);
                    }
                    t += len;
                }
                if (sliverCols < Gemm.NR)
                    for (int xi = 0; xi < Positions; xi++)
                        for (int c = 0; c < kc; c++)
                            new Span<float>(blocks + xi * blockStride + (long)s * kc + c * Gemm.NR + sliverCols, Gemm.NR - sliverCols).Clear();
            }
        }

        /// <summary>
        /// len consecutive tiles of one tile row: rows points at E[tc] of the tile row's first padded row
        /// (O at +half, next row at +pitch); V[4a + b][q] goes to dst + ξ·stride + q.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TransformRun(float* rows, int pitch, int half, int len, float* dst, long stride)
        {
            int q = 0;
            for (; q + 8 <= len; q += 8)
            {
                // Horizontal: h[k][0..3] = (E0 − E1, O0 + E1, E1 − O0, O0 − O1) of padded row k.
                Vector256<float> h00, h01, h02, h03, h10, h11, h12, h13, h20, h21, h22, h23, h30, h31, h32, h33;
                Row(rows + q, half, out h00, out h01, out h02, out h03);
                Row(rows + pitch + q, half, out h10, out h11, out h12, out h13);
                Row(rows + 2 * pitch + q, half, out h20, out h21, out h22, out h23);
                Row(rows + 3 * pitch + q, half, out h30, out h31, out h32, out h33);
                // Vertical: (row0 − row2, row1 + row2, row2 − row1, row1 − row3).
                Column(h00, h10, h20, h30, dst + q, 0, stride);
                Column(h01, h11, h21, h31, dst + q, 1, stride);
                Column(h02, h12, h22, h32, dst + q, 2, stride);
                Column(h03, h13, h23, h33, dst + q, 3, stride);
            }
            var d = stackalloc float[16];
            for (; q < len; q++)
            {
                for (int k = 0; k < 4; k++)
                {
                    float* e = rows + k * pitch + q, o = e + half;
                    d[4 * k] = e[0] - e[1];
                    d[4 * k + 1] = o[0] + e[1];
                    d[4 * k + 2] = e[1] - o[0];
                    d[4 * k + 3] = o[0] - o[1];
                }
                for (int b = 0; b < 4; b++)
                {
                    dst[b * stride + q] = d[b] - d[8 + b];
                    dst[(4 + b) * stride + q] = d[4 + b] + d[8 + b];
                    dst[(8 + b) * stride + q] = d[8 + b] - d[4 + b];
                    dst[(12 + b) * stride + q] = d[4 + b] - d[12 + b];
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Row(float* e, int half, out Vector256<float> h0, out Vector256<float> h1, out Vector256<float> h2, out Vector256<float> h3)
        {
            var e0 = Vector256.Load(e);
            var e1 = Vector256.Load(e + 1);
            var o0 = Vector256.Load(e + half);
            var o1 = Vector256.Load(e + half + 1);
            h0 = e0 - e1;
            h1 = o0 + e1;
            h2 = e1 - o0;
            h3 = o0 - o1;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Column(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3, float* dst, int b, long stride)
        {
            (r0 - r2).Store(dst + b * stride);
            (r1 + r2).Store(dst + (4 + b) * stride);
            (r2 - r1).Store(dst + (8 + b) * stride);
            (r1 - r3).Store(dst + (12 + b) * stride);
        }

        /// <summary>Aᵀ M A of every finished tile, times outScale, into y's two output rows per tile row; then the epilogue on them.</summary>
        private void TransformOutput(int m0, int rows, int j0, int cols, float* blocks, long blockStride, int ldc)
        {
            for (int t = 0; t < cols;)
            {
                int j = j0 + t, sample = j / (_th * _tw), tr = j / _tw % _th, tc = j % _tw, len = Math.Min(_tw - tc, cols - t);
                for (int r = 0; r < rows; r++)
                {
                    int m = m0 + r;
                    float sc = outScale == null ? 1f : outScale[sample * co + m];
                    int p0 = 2 * tr * w + 2 * tc;
                    float* out0 = y + (long)(sample * co + m) * h * w + p0;
                    OutputRun(blocks + (long)r * ldc + t, blockStride, len, sc, out0, out0 + w);
                    if (!epilogue.Active) continue;
                    if (len == _tw)
                    {
                        epilogue.Apply(out0, 2 * w, sample, m, p0, h * w); // a whole tile row: its two output rows are contiguous
                        continue;
                    }
                    epilogue.Apply(out0, 2 * len, sample, m, p0, h * w);
                    epilogue.Apply(out0 + w, 2 * len, sample, m, p0 + w, h * w);
                }
                t += len;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void OutputRun(float* m, long stride, int len, float sc, float* out0, float* out1)
        {
            int q = 0;
            if (Avx.IsSupported)
            {
                var vs = Vector256.Create(sc);
                for (; q + 8 <= len; q += 8)
                {
                    // Vertical: s0 = M0 + M1 + M2, s1 = M1 − M2 − M3 per column b.
                    var s00 = Sum3(m, 0, stride, q, out var s10);
                    var s01 = Sum3(m, 1, stride, q, out var s11);
                    var s02 = Sum3(m, 2, stride, q, out var s12);
                    var s03 = Sum3(m, 3, stride, q, out var s13);
                    Interleave((s00 + s01 + s02) * vs, (s01 - s02 - s03) * vs, out0 + 2 * q);
                    Interleave((s10 + s11 + s12) * vs, (s11 - s12 - s13) * vs, out1 + 2 * q);
                }
            }
            var s0 = stackalloc float[4];
            var s1 = stackalloc float[4];
            for (; q < len; q++)
            {
                for (int b = 0; b < 4; b++)
                {
                    float v0 = m[b * stride + q], v1 = m[(4 + b) * stride + q], v2 = m[(8 + b) * stride + q], v3 = m[(12 + b) * stride + q];
                    s0[b] = v0 + v1 + v2;
                    s1[b] = v1 - v2 - v3;
                }
                out0[2 * q] = (s0[0] + s0[1] + s0[2]) * sc;
                out0[2 * q + 1] = (s0[1] - s0[2] - s0[3]) * sc;
                out1[2 * q] = (s1[0] + s1[1] + s1[2]) * sc;
                out1[2 * q + 1] = (s1[1] - s1[2] - s1[3]) * sc;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Sum3(float* m, int b, long stride, int q, out Vector256<float> lower)
        {
            var v0 = Vector256.Load(m + b * stride + q);
            var v1 = Vector256.Load(m + (4 + b) * stride + q);
            var v2 = Vector256.Load(m + (8 + b) * stride + q);
            var v3 = Vector256.Load(m + (12 + b) * stride + q);
            lower = v1 - v2 - v3;
            return v0 + v1 + v2;
        }

        /// <summary>dst[2q] = even[q], dst[2q + 1] = odd[q] for 8 q.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Interleave(Vector256<float> even, Vector256<float> odd, float* dst)
        {
            var lo = Avx.UnpackLow(even, odd);   // e0 o0 e1 o1 | e4 o4 e5 o5
            var hi = Avx.UnpackHigh(even, odd);  // e2 o2 e3 o3 | e6 o6 e7 o7
            Avx.Store(dst, Avx.Permute2x128(lo, hi, 0x20));
            Avx.Store(dst + 8, Avx.Permute2x128(lo, hi, 0x31));
        }
    }
}

/// <summary>A[m, k] = a[m·lda + k]: a row-major matrix.</summary>
internal readonly unsafe struct RowMajorA(float* a, int m, int lda) : IPackA
{
    public void Pack(int m0, int mc, int k0, int kc, float* dst)
    {
        for (int i = 0; i < mc; i += Gemm.MR)
        {
            float* sliver = dst + (long)i * kc;
            int real = Math.Min(Gemm.MR, Math.Min(mc - i, m - m0 - i));
            for (int kk = 0; kk < kc; kk++)
            {
                float* d = sliver + kk * Gemm.MR;
                int r = 0;
                for (; r < real; r++) d[r] = a[(long)(m0 + i + r) * lda + k0 + kk];
                for (; r < Gemm.MR; r++) d[r] = 0;
            }
        }
    }
}

public sealed partial class CpuBackend
{
    /// <summary>The 16 transformed, packed weights of <see cref="Winograd"/>, made once per weight version and gain.</summary>
    internal float[][] WinogradWeights(Tensor weight, float gain) =>
        Derived(weight, $"winograd {gain}", () => Winograd.TransformWeights(this, weight, gain));
}
