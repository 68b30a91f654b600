using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GrpcExplain.Kernels.Cpu;

/// <summary>
/// Register-blocked micro-kernels: tile[MR x NR] = A sliver [kc][MR] · B sliver [kc][NR]. Rows of A
/// are broadcast, rows of B are vectors, the tile stays in registers for the whole depth.
/// </summary>
internal static unsafe class MicroKernels
{
    public const int MR = 8, NR = 32;

    public delegate void Kernel(int kc, float* a, float* b, float* tile);

    public static readonly Kernel ForAvx512 = Avx512Kernel;
    public static readonly Kernel ForVector256 = Vector256Kernel;

    /// <summary>v1: 8 x 32 with 16 zmm accumulators; each depth step is 2 vector loads, 8 broadcasts, 16 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512Kernel(int kc, float* a, float* b, float* tile)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
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
        c00.Store(tile); c01.Store(tile + 16);
        c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80);
        c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144);
        c50.Store(tile + 160); c51.Store(tile + 176);
        c60.Store(tile + 192); c61.Store(tile + 208);
        c70.Store(tile + 224); c71.Store(tile + 240);
    }

    /// <summary>
    /// Portable fallback: 256-bit vectors (AVX2+FMA on x64, software elsewhere). Sixteen registers hold
    /// only a 4 x 16 block with its operands, so the 8 x 32 tile is done in four passes over the depth.
    /// </summary>
    private static void Vector256Kernel(int kc, float* a, float* b, float* tile)
    {
        for (int rowHalf = 0; rowHalf < 2; rowHalf++)
            for (int colHalf = 0; colHalf < 2; colHalf++)
                Vector256Quarter(kc, a + 4 * rowHalf, b + 16 * colHalf, tile + 4 * rowHalf * NR + 16 * colHalf);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Vector256Quarter(int kc, float* a, float* b, float* tile)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
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
        c00.Store(tile); c01.Store(tile + 8);
        c10.Store(tile + NR); c11.Store(tile + NR + 8);
        c20.Store(tile + 2 * NR); c21.Store(tile + 2 * NR + 8);
        c30.Store(tile + 3 * NR); c31.Store(tile + 3 * NR + 8);
    }
}
