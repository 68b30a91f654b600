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
            Epilogue(src, nz, strength, bd?[ch] ?? 0, dst, p);
        }, hw);
    }

    private static void Epilogue(ReadOnlySpan<float> x, ReadOnlySpan<float> noise, float strength, float bias, Span<float> y, BiasActivateParams p)
    {
        float lo = p.Clamp > 0 ? -p.Clamp : float.NegativeInfinity, hi = p.Clamp > 0 ? p.Clamp : float.PositiveInfinity;
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var vn = noise.IsEmpty ? default : MemoryMarshal.Cast<float, Vector<float>>(noise);
        Vector<float> vb = new(bias), vs = new(strength), vslope = new(p.Slope), vgain = new(p.Gain), vlo = new(lo), vhi = new(hi);
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
            y[i] = Math.Clamp((z > 0 ? z : p.Slope * z) * p.Gain, lo, hi);
        }
    }

    protected override void BiasActivateBackwardCore(Tensor y, Tensor dy, Tensor? noise, Tensor? noiseStrength,
        Tensor? dx, Tensor? dBias, Tensor? dNoise, Tensor? dNoiseStrength, BiasActivateParams p)
    {
        var (n, c, h, w) = y.Shape.Nchw;
        int hw = h * w;
        float[] yd = D(y), dyd = D(dy);
        // dz, the gradient at the pre-activation, goes into dx when asked for, else into scratch.
        float[] dz = dx is null ? new float[y.Length] : D(dx);
        For(n * c, plane =>
        {
            var ys = yd.AsSpan(plane * hw, hw);
            var g = dyd.AsSpan(plane * hw, hw);
            var o = dz.AsSpan(plane * hw, hw);
            for (int i = 0; i < hw; i++)
            {
                // The output's sign is the pre-activation's (gain > 0); |y| at the clamp means clamped.
                bool clamped = p.Clamp > 0 && MathF.Abs(ys[i]) >= p.Clamp;
                o[i] = clamped ? 0 : g[i] * p.Gain * (ys[i] > 0 ? 1 : p.Slope);
            }
        }, hw);

        if (dBias is not null)
        {
            var db = D(dBias);
            for (int ch = 0; ch < c; ch++)
            {
                float s = 0;
                for (int b = 0; b < n; b++) s += Simd.Sum(dz.AsSpan((b * c + ch) * hw, hw));
                db[ch] = s;
            }
        }
        if (noise is null || (dNoise is null && dNoiseStrength is null)) return;
        float[] nd = D(noise);
        float strength = D(noiseStrength!)[0];
        int noiseBatch = noise.Shape[0];
        var dn = dNoise is null ? null : D(dNoise);
        dn?.AsSpan().Clear();
        double ds = 0;
        for (int b = 0; b < n; b++)
        {
            var nz = nd.AsSpan((noiseBatch == 1 ? 0 : b) * hw, hw);
            var dnb = dn is null ? default : dn.AsSpan((noiseBatch == 1 ? 0 : b) * hw, hw);
            for (int ch = 0; ch < c; ch++)
            {
                var g = dz.AsSpan((b * c + ch) * hw, hw);
                ds += Simd.Dot(g, nz);
                if (dn is not null) Simd.Axpy(strength, g, dnb);
            }
        }
        if (dNoiseStrength is not null) D(dNoiseStrength)[0] = (float)ds;
    }
}
