using System.Numerics;
using System.Runtime.InteropServices;

namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    protected override void BiasActivateForwardCore(Tensor x, Tensor? bias, Tensor? noise, Tensor? noiseStrength, Tensor y, BiasActivateParams p)
    {
        var (n, c, h, w) = x.Shape.Nchw;
        int hw = h * w;
        float[] xd = D(x), yd = D(y);
        float[]? bd = DOrNull(bias), nd = DOrNull(noise);
        float strength = noiseStrength is null ? 0 : D(noiseStrength)[0];
        int noiseBatch = noise?.Shape[0] ?? 1;
        For(n * c, plane =>
        {
            int b = plane / c, ch = plane % c;
            var src = xd.AsSpan(plane * hw, hw);
            var dst = yd.AsSpan(plane * hw, hw);
            var nz = nd is null ? default : nd.AsSpan((noiseBatch == 1 ? 0 : b) * hw, hw);
            Epilogue(src, nz, strength, bd?[ch] ?? 0, dst, p.Slope, p.Gain, p.Clamp);
        }, hw);
    }

    internal static void Epilogue(ReadOnlySpan<float> x, ReadOnlySpan<float> noise, float strength, float bias, Span<float> y, float slope, float gain, float clamp)
    {
        float lo = clamp > 0 ? -clamp : float.NegativeInfinity, hi = clamp > 0 ? clamp : float.PositiveInfinity;
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var vn = noise.IsEmpty ? default : MemoryMarshal.Cast<float, Vector<float>>(noise);
        Vector<float> vb = new(bias), vs = new(strength), vslope = new(slope), vgain = new(gain), vlo = new(lo), vhi = new(hi);
        for (int i = 0; i < vx.Length; i++)
        {
            var z = vx[i] + vb;
            if (!noise.IsEmpty) z += vn[i] * vs;
            var a = Vector.ConditionalSelect(Vector.GreaterThan(z, Vector<float>.Zero), z, z * vslope) * vgain;
            vy[i] = Vector.Min(Vector.Max(a, vlo), vhi);
        }
        for (int i = vx.Length * Vector<float>.Count; i < x.Length; i++)
        {
            float z = x[i] + bias + (noise.IsEmpty ? 0 : noise[i] * strength);
            y[i] = Math.Clamp((z > 0 ? z : slope * z) * gain, lo, hi);
        }
    }

    protected override void BiasActivateBackwardCore(Tensor y, Tensor dy, Tensor? noise, Tensor? noiseStrength,
        Tensor? dx, Tensor? dBias, Tensor? dNoise, Tensor? dNoiseStrength, BiasActivateParams p)
    {
        var (n, c, h, w) = y.Shape.Nchw;
        int hw = h * w;
        float[] yd = D(y), dyd = D(dy);
        float[]? nd = DOrNull(noise);
        int noiseBatch = noise?.Shape[0] ?? 1;
        // dz, the gradient at the pre-activation, goes into dx when asked for, else into scratch; the
        // per-plane sums for the bias and the noise strength are taken in the same pass.
        float[] dz = dx is null ? new float[y.Length] : D(dx);
        var planeSum = new double[n * c];
        var planeDot = new double[n * c];
        bool wantDot = nd is not null && dNoiseStrength is not null;
        For(n * c, plane =>
        {
            var o = dz.AsSpan(plane * hw, hw);
            PreActivationGradient(yd.AsSpan(plane * hw, hw), dyd.AsSpan(plane * hw, hw), o, p);
            planeSum[plane] = Simd.Sum(o);
            if (wantDot) planeDot[plane] = Simd.Dot(o, nd.AsSpan((noiseBatch == 1 ? 0 : plane / c) * hw, hw));
        }, hw);

        if (dBias is not null)
        {
            var db = D(dBias);
            for (int ch = 0; ch < c; ch++)
            {
                double s = 0;
                for (int b = 0; b < n; b++) s += planeSum[b * c + ch];
                db[ch] = (float)s;
            }
        }
        if (dNoiseStrength is not null) D(dNoiseStrength)[0] = (float)planeDot.Sum();
        if (dNoise is null) return;
        // dNoise[m, p] = strength·Σ over the samples m stands for and every channel of dz[·, ·, p]:
        // parallel over noise maps and pixel chunks, so no two threads add into the same pixel.
        float strength = D(noiseStrength!)[0];
        var dn = D(dNoise);
        const int chunk = 4096;
        int chunks = Gemm.CeilDiv(hw, chunk);
        For(noiseBatch * chunks, job =>
        {
            int m = job / chunks, p0 = job % chunks * chunk, len = Math.Min(chunk, hw - p0);
            var acc = dn.AsSpan(m * hw + p0, len);
            acc.Clear();
            for (int b = noiseBatch == 1 ? 0 : m; b < (noiseBatch == 1 ? n : m + 1); b++)
                for (int ch = 0; ch < c; ch++) Simd.Axpy(strength, dz.AsSpan((b * c + ch) * hw + p0, len), acc);
        }, (long)c * Math.Min(chunk, hw) * (noiseBatch == 1 ? n : 1));
    }

    /// <summary>
    /// dz = dy·gain·act'(z) and zero where the output was clamped, from the output alone: its sign is the
    /// pre-activation's (gain &gt; 0), and |y| at the clamp means clamped.
    /// </summary>
    private static void PreActivationGradient(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz, BiasActivateParams p)
    {
        float limit = p.Clamp > 0 ? p.Clamp : float.PositiveInfinity;
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var vdy = MemoryMarshal.Cast<float, Vector<float>>(dy);
        var vdz = MemoryMarshal.Cast<float, Vector<float>>(dz);
        Vector<float> gain = new(p.Gain), slopeGain = new(p.Slope * p.Gain), vlimit = new(limit);
        for (int i = 0; i < vy.Length; i++)
        {
            var derivative = Vector.ConditionalSelect(Vector.GreaterThan(vy[i], Vector<float>.Zero), gain, slopeGain);
            var inside = Vector.LessThan(Vector.Abs(vy[i]), vlimit);
            vdz[i] = Vector.ConditionalSelect(inside, vdy[i] * derivative, Vector<float>.Zero);
        }
        for (int i = vy.Length * Vector<float>.Count; i < y.Length; i++)
            dz[i] = MathF.Abs(y[i]) >= limit ? 0 : dy[i] * (y[i] > 0 ? p.Gain : p.Slope * p.Gain);
    }
}
