using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GrpcExplain.Kernels.Cpu;

/// <summary>
/// Register-blocked micro-kernels: C[MR x NR] (+)= A sliver [kc][MR] · B sliver [kc][NR], C with row
/// stride ldc. Rows of A are broadcast, rows of B are vectors, the tile stays in registers for the
/// whole depth.
/// </summary>
internal static unsafe class MicroKernels
{
    public const int MR = 8, NR = 32;

    public delegate void Kernel(int kc, float* a, float* b, float* c, int ldc, bool accumulate);

    /// <summary>
    /// One ISA's kernels: the MR x NR one, and an MR x NR/2 one for a last sliver with at most half its
    /// columns real (a 4x4 map's 16 outputs, the tail of a grid), which would otherwise spend half its
    /// multiplies on padding.
    /// </summary>
    public sealed class Set(Kernel full, Kernel half)
    {
        /// <summary>C block (+)= A block · B block over rows x cols, sliver by sliver (packed as <see cref="Gemm"/> packs them).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Block(int kc, float* a, int rows, float* b, int cols, float* c, int ldc, bool accumulate)
        {
            for (int i = 0; i < rows; i += MR)
                for (int j = 0; j < cols; j += NR)
                    (cols - j <= NR / 2 ? half : full)(kc, a + (long)i * kc, b + (long)j * kc, c + (long)i * ldc + j, ldc, accumulate);
        }
    }

    public static readonly Set ForAvx512 = new(Avx512Kernel, Avx512HalfKernel);
    public static readonly Set ForVector256 = new(Vector256Kernel, Vector256HalfKernel);

    public static Set For(CpuIsa isa) => isa == CpuIsa.Avx512 ? ForAvx512 : ForVector256;

    /// <summary>v1: 8 x 32 with 16 zmm accumulators; each depth step is 2 vector loads, 8 broadcasts, 16 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512Kernel(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc, c4 = c + 4 * ldc, c5 = c + 5 * ldc, c6 = c + 6 * ldc, c7 = c + 7 * ldc;
        if (accumulate)
        {
            c00 = Vector512.Load(c0); c01 = Vector512.Load(c0 + 16);
            c10 = Vector512.Load(c1); c11 = Vector512.Load(c1 + 16);
            c20 = Vector512.Load(c2); c21 = Vector512.Load(c2 + 16);
            c30 = Vector512.Load(c3); c31 = Vector512.Load(c3 + 16);
            c40 = Vector512.Load(c4); c41 = Vector512.Load(c4 + 16);
            c50 = Vector512.Load(c5); c51 = Vector512.Load(c5 + 16);
            c60 = Vector512.Load(c6); c61 = Vector512.Load(c6 + 16);
            c70 = Vector512.Load(c7); c71 = Vector512.Load(c7 + 16);
        }
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            var a6 = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            var a7 = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            a += MR;
            b += NR;
        }
        c00.Store(c0); c01.Store(c0 + 16);
        c10.Store(c1); c11.Store(c1 + 16);
        c20.Store(c2); c21.Store(c2 + 16);
        c30.Store(c3); c31.Store(c3 + 16);
        c40.Store(c4); c41.Store(c4 + 16);
        c50.Store(c5); c51.Store(c5 + 16);
        c60.Store(c6); c61.Store(c6 + 16);
        c70.Store(c7); c71.Store(c7 + 16);
    }

    /// <summary>v2 (half): 8 x 16, the first half of each B sliver row; 8 zmm accumulators, 1 vector load, 8 broadcasts, 8 FMAs per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512HalfKernel(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        if (accumulate)
        {
            c0 = Vector512.Load(c); c1 = Vector512.Load(c + ldc); c2 = Vector512.Load(c + 2 * ldc); c3 = Vector512.Load(c + 3 * ldc);
            c4 = Vector512.Load(c + 4 * ldc); c5 = Vector512.Load(c + 5 * ldc); c6 = Vector512.Load(c + 6 * ldc); c7 = Vector512.Load(c + 7 * ldc);
        }
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            a += MR;
            b += NR;
        }
        c0.Store(c); c1.Store(c + ldc); c2.Store(c + 2 * ldc); c3.Store(c + 3 * ldc);
        c4.Store(c + 4 * ldc); c5.Store(c + 5 * ldc); c6.Store(c + 6 * ldc); c7.Store(c + 7 * ldc);
    }

    /// <summary>
    /// Portable fallback: 256-bit vectors (AVX2+FMA on x64, software elsewhere). Sixteen registers hold
    /// only a 4 x 16 block with its operands, so the 8 x 32 tile is done in four passes over the depth.
    /// </summary>
    private static void Vector256Kernel(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        for (int rowHalf = 0; rowHalf < 2; rowHalf++)
            for (int colHalf = 0; colHalf < 2; colHalf++)
                Vector256Quarter(kc, a + 4 * rowHalf, b + 16 * colHalf, c + 4 * rowHalf * ldc + 16 * colHalf, ldc, accumulate);
    }

    /// <summary>The fallback's 8 x 16: the two row quarters of the B sliver's first column half.</summary>
    private static void Vector256HalfKernel(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        Vector256Quarter(kc, a, b, c, ldc, accumulate);
        Vector256Quarter(kc, a + 4, b, c + 4 * ldc, ldc, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Vector256Quarter(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        if (accumulate)
        {
            c00 = Vector256.Load(c0); c01 = Vector256.Load(c0 + 8);
            c10 = Vector256.Load(c1); c11 = Vector256.Load(c1 + 8);
            c20 = Vector256.Load(c2); c21 = Vector256.Load(c2 + 8);
            c30 = Vector256.Load(c3); c31 = Vector256.Load(c3 + 8);
        }
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]); c00 = Vector256.MultiplyAddEstimate(a0, b0, c00); c01 = Vector256.MultiplyAddEstimate(a0, b1, c01);
            var a1 = Vector256.Create(a[1]); c10 = Vector256.MultiplyAddEstimate(a1, b0, c10); c11 = Vector256.MultiplyAddEstimate(a1, b1, c11);
            var a2 = Vector256.Create(a[2]); c20 = Vector256.MultiplyAddEstimate(a2, b0, c20); c21 = Vector256.MultiplyAddEstimate(a2, b1, c21);
            var a3 = Vector256.Create(a[3]); c30 = Vector256.MultiplyAddEstimate(a3, b0, c30); c31 = Vector256.MultiplyAddEstimate(a3, b1, c31);
            a += MR;
            b += NR;
        }
        c00.Store(c0); c01.Store(c0 + 8);
        c10.Store(c1); c11.Store(c1 + 8);
        c20.Store(c2); c21.Store(c2 + 8);
        c30.Store(c3); c31.Store(c3 + 8);
    }
}
