using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace GrpcExplain.Kernels.Cpu;

/// <summary>
/// A convolution input copied once with zero borders (and its per-channel scale applied), so that every
/// tap of a stride-1 convolution reads it at a constant offset: with the output grid laid out at the
/// padded row pitch, column q = a·Pitch + b of tap (c, oy, ox) is at Offset(c, oy, ox) + q. Columns
/// b ≥ gb of each row are junk (they read the border or the next row) and are never stored. The GEMM's
/// B operand then packs by straight copies instead of an im2col gather with bounds checks, which on
/// 64- and 128-channel layers cost a third of the time.
/// </summary>
internal sealed unsafe class ShiftedInput : IDisposable
{
    private readonly CpuBackend _cpu;
    private readonly float[] _data;

    public ShiftedInput(CpuBackend cpu, Tensor src, Tensor? scale, ShiftedLayout layout)
    {
        _cpu = cpu;
        var (n, c, h, w) = src.Shape.Nchw;
        // Junk columns of the last rows read up to a pitch past the last plane. Only the borders and
        // that slack are zeroed: the interior is written below.
        int length = n * layout.SamplePitch + layout.Pitch + Gemm.NR;
        _data = cpu.RentUninitialized(length);
        Array.Clear(_data, n * layout.SamplePitch, length - n * layout.SamplePitch);
        float* x = CpuBackend.P(src), s = CpuBackend.P(scale), data = Pointer;
        int pitch = layout.Pitch, top = layout.PadTop, left = layout.PadLeft, planeLength = layout.Height * pitch;
        cpu.For(n * c, plane =>
        {
            float sc = s == null ? 1f : s[plane];
            float* padded = data + (long)plane * planeLength, from = x + (long)plane * h * w;
            GatherB.Zero(padded, top * pitch);
            GatherB.Zero(padded + (top + h) * pitch, planeLength - (top + h) * pitch);
            for (int r = 0; r < h; r++)
            {
                float* row = padded + (top + r) * pitch;
                GatherB.Zero(row, left);
                GatherB.Scaled(from + r * w, row + left, w, sc);
                GatherB.Zero(row + left + w, pitch - left - w);
            }
        }, (long)h * w);
    }

    public float* Pointer => (float*)Unsafe.AsPointer(ref _data[0]);

    public void Dispose() => _cpu.Return(_data);
}

/// <summary>
/// Where a <see cref="ShiftedInput"/> keeps an input of <paramref name="Channels"/> planes of H x W: zero
/// borders wide enough that rows a + offY and columns b + offX are inside for a &lt; ga, b &lt; gb and
/// every offset in [min, max].
/// </summary>
internal sealed record ShiftedLayout(int Channels, int H, int W, int MinOffY, int MaxOffY, int MinOffX, int MaxOffX, int Ga, int Gb)
{
    public int PadTop => Math.Max(0, -MinOffY);
    public int PadLeft => Math.Max(0, -MinOffX);
    public int Height => H + PadTop + Math.Max(0, Ga - 1 + MaxOffY - (H - 1));

    /// <summary>Row pitch of the padded planes: the output grid's row length, junk columns included.</summary>
    public int Pitch => W + PadLeft + Math.Max(0, Gb - 1 + MaxOffX - (W - 1));

    public int SamplePitch => Channels * Height * Pitch;

    public int Offset(int channel, int offY, int offX) => (channel * Height + offY + PadTop) * Pitch + offX + PadLeft;
}

/// <summary>
/// B[kidx, (n, a, b)] = src[n·samplePitch + offset[kidx] + a·pitch + b] for a &lt; ga, b &lt; gridWidth: the
/// im2col of a <see cref="ShiftedInput"/>, packed by copying runs. With gridWidth = pitch the columns are
/// whole padded rows (junk included) and a sample is one run; with gridWidth = Gb only the real points.
/// </summary>
internal readonly unsafe struct ShiftedB(float* src, int samplePitch, int pitch, int ga, int gridWidth, int* offset) : IPackB
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int k0, int kc, int j0, int nc, float* dst)
    {
        var runs = stackalloc (int At, int Length, long Source)[Gemm.NR];
        int perSample = ga * gridWidth;
        for (int s = 0; s < nc; s += Gemm.NR)
        {
            int cols = Math.Min(Gemm.NR, nc - s), count = 0;
            for (int t = 0; t < cols;)
            {
                int j = j0 + s + t, n = j / perSample, a = j % perSample / gridWidth, b = j % gridWidth;
                int len = Math.Min(gridWidth == pitch ? perSample - a * gridWidth - b : gridWidth - b, cols - t);
                runs[count++] = (t, len, (long)n * samplePitch + a * pitch + b);
                t += len;
            }
            float* sliver = dst + (long)s * kc;
            if (count == 1 && cols == Gemm.NR)
            {
                float* from = src + runs[0].Source;
                for (int kk = 0; kk < kc; kk++) Copy32(from + offset[k0 + kk], sliver + kk * Gemm.NR);
                continue;
            }
            for (int kk = 0; kk < kc; kk++)
            {
                float* d = sliver + kk * Gemm.NR;
                int off = offset[k0 + kk];
                for (int r = 0; r < count; r++) CopyRun(src + runs[r].Source + off, d + runs[r].At, runs[r].Length);
                GatherB.Zero(d + cols, Gemm.NR - cols);
            }
        }
    }

    /// <summary>A short run (a small map's row: 4, 8 or 16 floats) by whole vectors where it can.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(float* s, float* d, int len)
    {
        int i = 0;
        for (; i + 8 <= len; i += 8) Vector256.Store(Vector256.Load(s + i), d + i);
        if (i + 4 <= len)
        {
            Vector128.Store(Vector128.Load(s + i), d + i);
            i += 4;
        }
        for (; i < len; i++) d[i] = s[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy32(float* s, float* d)
    {
        Vector256.Store(Vector256.Load(s), d);
        Vector256.Store(Vector256.Load(s + 8), d + 8);
        Vector256.Store(Vector256.Load(s + 16), d + 16);
        Vector256.Store(Vector256.Load(s + 24), d + 24);
    }
}
