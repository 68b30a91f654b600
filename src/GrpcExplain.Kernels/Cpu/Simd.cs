using System.Numerics;
using System.Runtime.InteropServices;

namespace GrpcExplain.Kernels.Cpu;

/// <summary>Vector helpers for the element-wise and reduction loops (Vector&lt;float&gt;: the widest the JIT supports).</summary>
internal static class Simd
{
    /// <summary>
    /// Four independent sums: with one, every step waits for the previous add, and the short dots of a
    /// batch-1 forward (a 256-wide fully connected layer's rows, demodulation's) are all latency.
    /// </summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        Vector<float> acc = Vector<float>.Zero, acc1 = Vector<float>.Zero, acc2 = Vector<float>.Zero, acc3 = Vector<float>.Zero;
        int v = 0;
        for (; v + 4 <= va.Length; v += 4)
        {
            acc += va[v] * vb[v];
            acc1 += va[v + 1] * vb[v + 1];
            acc2 += va[v + 2] * vb[v + 2];
            acc3 += va[v + 3] * vb[v + 3];
        }
        for (; v < va.Length; v++) acc += va[v] * vb[v];
        float s = Vector.Sum(acc + acc1 + (acc2 + acc3));
        for (int i = va.Length * Vector<float>.Count; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    public static float Sum(ReadOnlySpan<float> a)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var acc = Vector<float>.Zero;
        for (int i = 0; i < va.Length; i++) acc += va[i];
        float s = Vector.Sum(acc);
        for (int i = va.Length * Vector<float>.Count; i < a.Length; i++) s += a[i];
        return s;
    }

    /// <summary>y += a·x.</summary>
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var va = new Vector<float>(a);
        for (int i = 0; i < vx.Length; i++) vy[i] += va * vx[i];
        for (int i = vx.Length * Vector<float>.Count; i < x.Length; i++) y[i] += a * x[i];
    }

    /// <summary>y = a + b (y may be a or b).</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        for (int i = 0; i < va.Length; i++) vy[i] = va[i] + vb[i];
        for (int i = va.Length * Vector<float>.Count; i < a.Length; i++) y[i] = a[i] + b[i];
    }

    /// <summary>y = a·x.</summary>
    public static void Scale(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var va = new Vector<float>(a);
        for (int i = 0; i < vx.Length; i++) vy[i] = va * vx[i];
        for (int i = vx.Length * Vector<float>.Count; i < x.Length; i++) y[i] = a * x[i];
    }
}
