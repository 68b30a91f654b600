using System.Numerics;
using System.Runtime.CompilerServices;

namespace GrpcExplain.Kernels.Cpu;

// The operands of the convolution GEMMs. Columns of a convolution GEMM walk an output grid
// (n, a, b) of Ga x Gb points per sample; consecutive b in one (n, a) row form a "run" that maps to
// consecutive (or, for stride-2 phases, evenly spaced) memory, so packers and storers work run by run.

/// <summary>A[m, kidx] = w[rowOffset[m] + colOffset[kidx]]·gain: a convolution weight in any layout.</summary>
internal readonly unsafe struct WeightA(float* w, int* rowOffset, int* colOffset, int m, float gain) : IPackA
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int m0, int mc, int k0, int kc, float* dst)
    {
        var rows = stackalloc float*[Gemm.MR];
        for (int i = 0; i < mc; i += Gemm.MR)
        {
            float* sliver = dst + (long)i * kc;
            int real = Math.Min(Gemm.MR, Math.Min(mc - i, m - m0 - i));
            for (int r = 0; r < real; r++) rows[r] = w + rowOffset[m0 + i + r];
            // Depth outer, rows inner: the sliver is written in order.
            for (int kk = 0; kk < kc; kk++)
            {
                int at = colOffset[k0 + kk];
                float* d = sliver + kk * Gemm.MR;
                int r = 0;
                for (; r < real; r++) d[r] = rows[r][at] * gain;
                for (; r < Gemm.MR; r++) d[r] = 0;
            }
        }
    }
}

/// <summary>
/// B[kidx, (n, a, b)] = src[n, channel[kidx], a·stride + offY[kidx], b·stride + offX[kidx]]·scale[n, channel],
/// zero outside the map: the implicit im2col of a convolution (or of one phase of a transposed one).
/// </summary>
internal readonly unsafe struct GatherB(float* src, int channels, int height, int width, int stride,
    int* channel, int* offY, int* offX, int ga, int gb, float* scale) : IPackB
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int k0, int kc, int j0, int nc, float* dst)
    {
        for (int s = 0; s < nc; s += Gemm.NR)
        {
            int cols = Math.Min(Gemm.NR, nc - s);
            float* sliver = dst + (long)s * kc;
            for (int kk = 0; kk < kc; kk++)
            {
                int kidx = k0 + kk, c = channel[kidx], oy = offY[kidx], ox = offX[kidx];
                float* d = sliver + kk * Gemm.NR;
                for (int t = 0; t < cols;)
                {
                    int j = j0 + s + t, n = j / (ga * gb), a = j / gb % ga, b = j % gb;
                    int len = Math.Min(gb - b, cols - t);
                    int iy = a * stride + oy;
                    if (iy < 0 || iy >= height)
                        Zero(d + t, len);
                    else
                        CopyRow(src + ((long)(n * channels + c) * height + iy) * width, b * stride + ox, width, stride, d + t, len,
                            scale == null ? 1f : scale[n * channels + c]);
                    t += len;
                }
                Zero(d + cols, Gemm.NR - cols);
            }
        }
    }

    /// <summary>d[i] = row[x0 + i·stride]·sc for i &lt; len, zero where x0 + i·stride falls outside [0, width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CopyRow(float* row, int x0, int width, int stride, float* d, int len, float sc)
    {
        // First and last i whose column is inside the row.
        int lo = x0 >= 0 ? 0 : (-x0 + stride - 1) / stride;
        int hi = x0 >= width ? 0 : Math.Min(len, (width - 1 - x0) / stride + 1);
        if (hi <= lo) { Zero(d, len); return; }
        Zero(d, lo);
        if (stride == 1) Scaled(row + x0 + lo, d + lo, hi - lo, sc);
        else for (int i = lo; i < hi; i++) d[i] = row[x0 + i * stride] * sc;
        Zero(d + hi, len - hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Zero(float* d, int len)
    {
        if (len > 0) new Span<float>(d, len).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Scaled(float* s, float* d, int len, float sc)
    {
        int i = 0;
        var vs = new Vector<float>(sc);
        for (; i <= len - Vector<float>.Count; i += Vector<float>.Count)
            (Vector.Load(s + i) * vs).Store(d + i);
        for (; i < len; i++) d[i] = s[i] * sc;
    }
}

/// <summary>
/// Places tile rows m (channels of dst) and columns (n, a, b) at dst[n, m, offY + a·stride, offX + b·stride],
/// times scale[n, m]; the convolution outputs (stride 1) and the phases of a transposed one (stride S).
/// Columns b at or past <paramref name="storedB"/> are not stored: the junk columns of <see cref="ShiftedB"/>'s
/// padded rows (pass gb when every column is real).
/// </summary>
internal readonly unsafe struct ConvStore(float* dst, int channels, int height, int width, int stride, int offY, int offX,
    int ga, int gb, float* scale, int storedB, EpilogueArgs epilogue = default) : IStoreC
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Store(int m0, int rows, int j0, int cols, float* tile, int ldc)
    {
        for (int t = 0; t < cols;)
        {
            int j = j0 + t, n = j / (ga * gb), a = j / gb % ga, b = j % gb;
            int run = Math.Min(gb - b, cols - t), len = Math.Min(run, storedB - b);
            if (len <= 0)
            {
                t += run;
                continue;
            }
            for (int r = 0; r < rows; r++)
            {
                int m = m0 + r;
                float sc = scale == null ? 1f : scale[n * channels + m];
                float* d = dst + ((long)(n * channels + m) * height + offY + a * stride) * width + offX + b * stride;
                float* s = tile + (long)r * ldc + t;
                if (stride == 1)
                {
                    TileRow.Put(s, d, len, sc);
                    if (epilogue.Active) epilogue.Apply(d, len, n, m, (offY + a) * width + offX + b, height * width);
                }
                else for (int i = 0; i < len; i++) d[i * stride] = s[i] * sc;
            }
            t += run;
        }
    }
}

/// <summary>Writes one row of finished C, scaled, to contiguous memory.</summary>
internal static unsafe class TileRow
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put(float* s, float* d, int len, float sc)
    {
        int i = 0;
        var vs = new Vector<float>(sc);
        for (; i <= len - Vector<float>.Count; i += Vector<float>.Count) (Vector.Load(s + i) * vs).Store(d + i);
        for (; i < len; i++) d[i] = s[i] * sc;
    }
}

/// <summary>A[m, (n, p)] = map[n, m, p]·scale[n, m]: an output gradient as the left operand of a weight gradient.</summary>
internal readonly unsafe struct MapRowsA(float* map, int channels, int pixels, float* scale) : IPackA
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int m0, int mc, int k0, int kc, float* dst)
    {
        for (int i = 0; i < mc; i += Gemm.MR)
        {
            float* sliver = dst + (long)i * kc;
            for (int r = 0; r < Gemm.MR; r++)
            {
                int m = m0 + i + r;
                for (int kk = 0; kk < kc;)
                {
                    int q = k0 + kk, n = q / pixels, p = q % pixels, len = Math.Min(pixels - p, kc - kk);
                    if (m >= channels || i + r >= mc)
                        for (int e = 0; e < len; e++) sliver[(kk + e) * Gemm.MR + r] = 0;
                    else
                    {
                        float* src = map + (long)(n * channels + m) * pixels + p;
                        float sc = scale == null ? 1f : scale[n * channels + m];
                        for (int e = 0; e < len; e++) sliver[(kk + e) * Gemm.MR + r] = src[e] * sc;
                    }
                    kk += len;
                }
            }
        }
    }
}

/// <summary>
/// B[(n, oy, ox), (ci, ky, kx)] = x[n, ci, oy·S + ky − P, ox·S + kx − P]·scale[n, ci]: im2col transposed,
/// the right operand of a weight gradient (depth runs over output pixels).
/// </summary>
internal readonly unsafe struct GatherTransposedB(float* x, int channels, int height, int width, int kernel,
    int stride, int padding, int outHeight, int outWidth, float* scale) : IPackB
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int k0, int kc, int j0, int nc, float* dst)
    {
        int kk2 = kernel * kernel, cols = channels * kk2;
        var column = stackalloc float[Gemm.KC];
        for (int s = 0; s < nc; s += Gemm.NR)
        {
            float* sliver = dst + (long)s * kc;
            for (int t = 0; t < Gemm.NR; t++)
            {
                int col = j0 + s + t;
                if (s + t >= nc || col >= cols)
                {
                    for (int kk = 0; kk < kc; kk++) sliver[kk * Gemm.NR + t] = 0;
                    continue;
                }
                int ci = col / kk2, ky = col % kk2 / kernel, kx = col % kernel;
                for (int kk = 0; kk < kc;)
                {
                    int q = k0 + kk, n = q / (outHeight * outWidth), oy = q / outWidth % outHeight, ox = q % outWidth;
                    int len = Math.Min(outWidth - ox, kc - kk);
                    int iy = oy * stride + ky - padding;
                    if (iy < 0 || iy >= height) GatherB.Zero(column + kk, len);
                    else GatherB.CopyRow(x + ((long)(n * channels + ci) * height + iy) * width, ox * stride + kx - padding, width, stride,
                        column + kk, len, scale == null ? 1f : scale[n * channels + ci]);
                    kk += len;
                }
                for (int kk = 0; kk < kc; kk++) sliver[kk * Gemm.NR + t] = column[kk];
            }
        }
    }
}

/// <summary>C[co, (ci, ky, kx)]·gain into a weight stored [co, ci, k, k], or [ci, co, k, k] when transposed.</summary>
internal readonly unsafe struct WeightStore(float* dw, int outChannels, int inChannels, int taps, bool transposed, float gain) : IStoreC
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Store(int m0, int rows, int j0, int cols, float* tile, int ldc)
    {
        for (int r = 0; r < rows; r++)
        {
            int co = m0 + r;
            float* s = tile + (long)r * ldc;
            if (!transposed)
            {
                TileRow.Put(s, dw + (long)co * inChannels * taps + j0, cols, gain);
                continue;
            }
            for (int t = 0; t < cols; t++)
            {
                int col = j0 + t, ci = col / taps, tap = col % taps;
                dw[((long)ci * outChannels + co) * taps + tap] = s[t] * gain;
            }
        }
    }
}

/// <summary>A <see cref="ConvEpilogue"/> as plain pointers and numbers, for the storers (stride-1 outputs only).</summary>
internal readonly unsafe struct EpilogueArgs
{
    private readonly float* _bias, _noise;
    private readonly int _noiseBatch;
    private readonly float _strength, _slope, _gain, _clamp;

    private EpilogueArgs(ConvEpilogue e)
    {
        _bias = CpuBackend.P(e.Bias);
        _noise = CpuBackend.P(e.Noise);
        _noiseBatch = e.Noise?.Shape[0] ?? 0;
        _strength = e.NoiseStrength is null ? 0 : CpuBackend.D(e.NoiseStrength)[0];
        (_slope, _gain, _clamp) = (e.Params.Slope, e.Params.Gain, e.Params.Clamp);
        Active = true;
    }

    public static EpilogueArgs Of(ConvEpilogue? e) => e is null ? default : new(e);

    public bool Active { get; }

    /// <summary>Row d[0, len) of sample n, channel m, starting at pixel p of a plane of <paramref name="plane"/> pixels, in place.</summary>
    public void Apply(float* d, int len, int n, int m, int p, int plane)
    {
        var row = new Span<float>(d, len);
        var noise = _noise == null ? default : new ReadOnlySpan<float>(_noise + (long)(_noiseBatch == 1 ? 0 : n) * plane + p, len);
        CpuBackend.Epilogue(row, noise, _strength, _bias == null ? 0 : _bias[m], row, _slope, _gain, _clamp);
    }
}
