using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GrpcExplain.Kernels.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// The 2x-upsampling convolution without its (2H+1)² intermediate: the four phases of the transposed
    /// convolution are stored densely, each in its own plane (row- and column-parity of the map NVIDIA
    /// filters), and the [1,3,3,1] filter reads the planes directly, writing even and odd output columns
    /// as two vectors it then interleaves. The strided scalar stores of the interleaved map and a pass
    /// over it from memory are gone; the epilogue runs on finished output rows while they are in L1.
    /// </summary>
    internal override void UpConvolutionCore(Tensor x, Tensor weight, Tensor y, Tensor? inScale, Tensor? outScale, ConvEpilogue? epilogue)
    {
        var (n, _, h, w) = x.Shape.Nchw;
        int co = weight.Shape[0];
        var plan = Plan("transposed", UpGeometry, x.Shape, weight.Shape, new Shape(n, co, 2 * h + 1, 2 * w + 1), ConvPlan.Transposed);
        if (plan.Passes.Length != 4)
        {
            base.UpConvolutionCore(x, weight, y, inScale, outScale, epilogue);
            return;
        }
        var planes = new Tensor[4];
        try
        {
            // Every element of a phase plane is stored by its GEMM (zeros for a phase no tap reaches).
            for (int i = 0; i < 4; i++)
            {
                var shape = new Shape(n, co, plan.Passes[i].Ga, plan.Passes[i].Gb);
                planes[i] = new CpuTensor(this, shape, RentUninitialized(shape.Length));
            }
            RunPasses(plan, x, weight, y, inScale, outScale, stride: 1, placement: 2, UpGeometry.Gain, null, planes);
            var byPhase = new Tensor[2, 2];
            foreach (var (pass, plane) in plan.Passes.Zip(planes)) byPhase[pass.Ry, pass.Rx] = plane;
            FilterPhases(byPhase, y, n * co, h, w, EpilogueArgs.Of(epilogue));
        }
        finally
        {
            foreach (var plane in planes) plane?.Dispose();
        }
    }

    /// <summary>
    /// y = FIR(t) with t[2a + ry, 2b + rx] = phase[ry, rx][a, b], filter [1,3,3,1]/8 per axis with padding
    /// 1 and gain 4 (ModulatedConv2dParams.UpFilter): output column 2q reads t columns 2q−1..2q+2, that is
    /// odd[q−1], even[q], odd[q], even[q+1]; column 2q+1 reads even[q], odd[q], even[q+1], odd[q+1]; rows alike.
    /// </summary>
    private void FilterPhases(Tensor[,] phase, Tensor y, int planes, int h, int w, EpilogueArgs epilogue)
    {
        var f = ModulatedConv2dParams.UpFilter;
        var (fy, fx) = f.Filter.Factors ?? throw new InvalidOperationException("The up filter is separable.");
        // Tap t of an output reads t[o + t − 1]: the filter flipped (upfirdn2d convolves).
        float[] cx = [.. fx.Reverse()], cy = [.. fy.Reverse().Select(v => v * f.Gain)];
        int th = 2 * h + 1, ow = 2 * w, channels = y.Shape[1];
        float[] yd = D(y);
        float[][] p = [D(phase[0, 0]), D(phase[0, 1]), D(phase[1, 0]), D(phase[1, 1])];
        For(planes, plane =>
        {
            // Per t row, the filtered even and odd output columns, kept apart until the vertical pass.
            var scratch = Scratch.ForThisThread(2 * th * w);
            fixed (float* even = scratch, yp = yd, p00 = p[0], p01 = p[1], p10 = p[2], p11 = p[3])
            {
                float* odd = even + th * w;
                for (int t = 0; t < th; t++)
                {
                    int a = t >> 1;
                    float* ev = (t & 1) == 0 ? p00 + ((long)plane * (h + 1) + a) * (w + 1) : p10 + ((long)plane * h + a) * (w + 1);
                    float* od = (t & 1) == 0 ? p01 + ((long)plane * (h + 1) + a) * w : p11 + ((long)plane * h + a) * w;
                    FilterRow(ev, od, w, cx, even + t * w, odd + t * w);
                }
                float* dst = yp + (long)plane * 2 * h * ow;
                int pending = 0; // first row not yet through the epilogue
                for (int oy = 0; oy < 2 * h; oy++)
                {
                    // Rows oy − 1 .. oy + 2 of t, those inside.
                    int t0 = Math.Max(0, oy - 1), t1 = Math.Min(th - 1, oy + 2);
                    FilterColumnsAndInterleave(even, odd, w, t0, t1, cy, t0 - (oy - 1), dst + oy * ow);
                    // In runs of at least EpilogueRun floats (a small map's whole plane): one call per row of 8 or 16 costs more than its work.
                    if (!epilogue.Active || ((oy + 1 - pending) * ow < EpilogueRun && oy < 2 * h - 1)) continue;
                    epilogue.Apply(dst + pending * ow, (oy + 1 - pending) * ow, plane / channels, plane % channels, pending * ow, 2 * h * ow);
                    pending = oy + 1;
                }
            }
        }, (long)th * ow * 8);
    }

    /// <summary>Floats of finished output rows the filter gathers before one epilogue call (4 KiB, within L1).</summary>
    private const int EpilogueRun = 1024;

    /// <summary>
    /// even[q] = c0·od[q−1] + c1·ev[q] + c2·od[q] + c3·ev[q+1], odd[q] = c0·ev[q] + c1·od[q] + c2·ev[q+1] + c3·od[q+1]
    /// for q &lt; w, with od[−1] = od[w] = 0 (ev has w + 1 entries, od w).
    /// </summary>
    private static void FilterRow(float* ev, float* od, int w, float[] c, float* outEven, float* outOdd)
    {
        float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
        int vw = Vector<float>.Count, q = 1;
        Vector<float> v0 = new(c0), v1 = new(c1), v2 = new(c2), v3 = new(c3);
        for (; q + vw <= w - 1; q += vw)
        {
            var e0 = Vector.Load(ev + q);
            var e1 = Vector.Load(ev + q + 1);
            var oPrev = Vector.Load(od + q - 1);
            var o0 = Vector.Load(od + q);
            var oNext = Vector.Load(od + q + 1);
            (v0 * oPrev + v1 * e0 + v2 * o0 + v3 * e1).Store(outEven + q);
            (v0 * e0 + v1 * o0 + v2 * e1 + v3 * oNext).Store(outOdd + q);
        }
        for (int i = 0; i < w; i = i == 0 ? Math.Max(q, 1) : i + 1)
        {
            float oPrev = i > 0 ? od[i - 1] : 0, oNext = i + 1 < w ? od[i + 1] : 0;
            outEven[i] = c0 * oPrev + c1 * ev[i] + c2 * od[i] + c3 * ev[i + 1];
            outOdd[i] = c0 * ev[i] + c1 * od[i] + c2 * ev[i + 1] + c3 * oNext;
        }
    }

    /// <summary>
    /// Output row = Σ_t cy[tap0 + t − t0]·rows t0..t1 of the filtered even and odd columns, interleaved:
    /// y[2q] from even, y[2q + 1] from odd.
    /// </summary>
    private static void FilterColumnsAndInterleave(float* even, float* odd, int w, int t0, int t1, float[] cy, int tap0, float* y)
    {
        int q = 0, taps = t1 - t0 + 1;
        if (Avx.IsSupported)
            for (; q + 8 <= w; q += 8)
            {
                var ve = Vector256<float>.Zero;
                var vo = Vector256<float>.Zero;
                for (int i = 0; i < taps; i++)
                {
                    var c = Vector256.Create(cy[tap0 + i]);
                    ve = Avx.Add(ve, Avx.Multiply(c, Avx.LoadVector256(even + (t0 + i) * w + q)));
                    vo = Avx.Add(vo, Avx.Multiply(c, Avx.LoadVector256(odd + (t0 + i) * w + q)));
                }
                var lo = Avx.UnpackLow(ve, vo);   // e0 o0 e1 o1 | e4 o4 e5 o5
                var hi = Avx.UnpackHigh(ve, vo);  // e2 o2 e3 o3 | e6 o6 e7 o7
                Avx.Store(y + 2 * q, Avx.Permute2x128(lo, hi, 0x20));
                Avx.Store(y + 2 * q + 8, Avx.Permute2x128(lo, hi, 0x31));
            }
        for (; q < w; q++)
        {
            float e = 0, o = 0;
            for (int i = 0; i < taps; i++)
            {
                e += cy[tap0 + i] * even[(t0 + i) * w + q];
                o += cy[tap0 + i] * odd[(t0 + i) * w + q];
            }
            y[2 * q] = e;
            y[2 * q + 1] = o;
        }
    }

    /// <summary>A float buffer per worker thread, grown on demand.</summary>
    private static class Scratch
    {
        [ThreadStatic] private static float[]? _mine;

        public static float[] ForThisThread(int length) =>
            _mine is { } a && a.Length >= length ? a : _mine = GC.AllocateUninitializedArray<float>(length, pinned: true);
    }
}
