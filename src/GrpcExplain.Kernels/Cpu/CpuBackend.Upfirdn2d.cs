using System.Numerics;
using System.Buffers;

namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    protected override void Upfirdn2dForwardCore(Tensor x, Tensor y, Upfirdn2dParams p) =>
        Upfirdn2d(D(x), x.Shape, D(y), y.Shape, p);

    // The adjoint of upfirdn2d is upfirdn2d with up and down swapped and the filter flipped.
    protected override void Upfirdn2dBackwardCore(Tensor dy, Tensor dx, Upfirdn2dParams p)
    {
        var (_, _, h, w) = dx.Shape.Nchw;
        Upfirdn2d(D(dy), dy.Shape, D(dx), dx.Shape, p.Adjoint(h, w));
    }

    /// <summary>
    /// Polyphase: for every output row and column the few input pixels (and taps) that reach it are
    /// listed once per call, so the inner loops skip the inserted zeros and the padding entirely.
    /// A separable filter runs as a horizontal then a vertical 1-D pass, each one vector pass over its rows.
    /// </summary>
    private void Upfirdn2d(float[] x, Shape xShape, float[] y, Shape yShape, Upfirdn2dParams p)
    {
        var (n, c, h, w) = xShape.Nchw;
        var (_, _, oh, ow) = yShape.Nchw;
        var f = p.Filter;
        var rows = PolyphaseTaps.Of(oh, h, p.Up, p.Down, p.PadY0, f.Height);
        var cols = PolyphaseTaps.Of(ow, w, p.Up, p.Down, p.PadX0, f.Width);
        if (f.Factors is { } factors)
        {
            float[] fy = factors.Y.Select(v => v * p.Gain).ToArray(), fx = factors.X;
            // For plain filtering, tap t of an output column reads input column ox + t − pad with fx flipped.
            float[] flipped = [.. fx.Reverse()];
            For(n * c, plane =>
            {
                var src = x.AsSpan(plane * h * w, h * w);
                var dst = y.AsSpan(plane * oh * ow, oh * ow);
                var inter = ArrayPool<float>.Shared.Rent(h * ow);
                for (int r = 0; r < h; r++)
                {
                    var srcRow = src.Slice(r * w, w);
                    var interRow = inter.AsSpan(r * ow, ow);
                    if (p.Up == 1 && p.Down == 1)
                    {
                        FirRow(srcRow, interRow, flipped, p.PadX0);
                        continue;
                    }
                    for (int ox = 0; ox < ow; ox++)
                    {
                        float acc = 0;
                        for (int e = cols.Start[ox]; e < cols.Start[ox + 1]; e++) acc += srcRow[cols.Source[e]] * fx[cols.Tap[e]];
                        interRow[ox] = acc;
                    }
                }
                for (int oy = 0; oy < oh; oy++)
                    SumOfRows(inter, ow, rows.Source.AsSpan(rows.Start[oy], rows.Start[oy + 1] - rows.Start[oy]),
                        rows.Tap.AsSpan(rows.Start[oy], rows.Start[oy + 1] - rows.Start[oy]), fy, dst.Slice(oy * ow, ow));
                ArrayPool<float>.Shared.Return(inter);
            }, (long)oh * ow * (f.Height + f.Width));
            return;
        }
        For(n * c, plane =>
        {
            var src = x.AsSpan(plane * h * w, h * w);
            var dst = y.AsSpan(plane * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    float acc = 0;
                    for (int ey = rows.Start[oy]; ey < rows.Start[oy + 1]; ey++)
                        for (int ex = cols.Start[ox]; ex < cols.Start[ox + 1]; ex++)
                            acc += src[rows.Source[ey] * w + cols.Source[ex]] * f.Taps[rows.Tap[ey] * f.Width + cols.Tap[ex]];
                    dst[oy * ow + ox] = acc * p.Gain;
                }
        }, (long)oh * ow * f.Taps.Length);
    }

    /// <summary>y[o] = Σ_t coef[t]·x[o + t − pad] over the taps inside x, in one vector pass over the interior.</summary>
    private static void FirRow(ReadOnlySpan<float> x, Span<float> y, float[] coef, int pad)
    {
        int taps = coef.Length, vw = Vector<float>.Count;
        int lo = Math.Min(y.Length, pad), hi = Math.Max(lo, Math.Min(y.Length, x.Length - taps + 1 + pad));
        for (int o = 0; o < y.Length; o++)
        {
            if (o == lo)
            {
                for (; o + vw <= hi; o += vw)
                {
                    var acc = Vector<float>.Zero;
                    for (int t = 0; t < taps; t++) acc += new Vector<float>(x.Slice(o + t - pad, vw)) * coef[t];
                    acc.CopyTo(y.Slice(o, vw));
                }
                if (o >= y.Length) break;
            }
            float s = 0;
            for (int t = 0; t < taps; t++)
            {
                int i = o + t - pad;
                if ((uint)i < (uint)x.Length) s += coef[t] * x[i];
            }
            y[o] = s;
        }
    }

    /// <summary>y = Σ_e coef[tap[e]]·row source[e] of <paramref name="rows"/> (rows of <paramref name="width"/>), in one pass.</summary>
    private static void SumOfRows(float[] rows, int width, ReadOnlySpan<int> source, ReadOnlySpan<int> tap, float[] coef, Span<float> y)
    {
        int vw = Vector<float>.Count, i = 0;
        for (; i + vw <= width; i += vw)
        {
            var acc = Vector<float>.Zero;
            for (int e = 0; e < source.Length; e++) acc += new Vector<float>(rows.AsSpan(source[e] * width + i, vw)) * coef[tap[e]];
            acc.CopyTo(y.Slice(i, vw));
        }
        for (; i < width; i++)
        {
            float s = 0;
            for (int e = 0; e < source.Length; e++) s += coef[tap[e]] * rows[source[e] * width + i];
            y[i] = s;
        }
    }

    /// <summary>
    /// For each output index o along one axis, entries Start[o]..Start[o+1] give the input index and the
    /// filter tap (already flipped: upfirdn2d convolves) of every input sample that reaches it.
    /// </summary>
    private sealed record PolyphaseTaps(int[] Start, int[] Source, int[] Tap)
    {
        public static PolyphaseTaps Of(int outSize, int inSize, int up, int down, int pad0, int taps)
        {
            var start = new int[outSize + 1];
            var source = new List<int>();
            var tap = new List<int>();
            for (int o = 0; o < outSize; o++)
            {
                start[o] = source.Count;
                for (int t = 0; t < taps; t++)
                {
                    int u = o * down + t - pad0; // position in the zero-inserted input
                    if (u < 0 || u >= inSize * up || u % up != 0) continue;
                    source.Add(u / up);
                    tap.Add(taps - 1 - t);
                }
            }
            start[outSize] = source.Count;
            return new PolyphaseTaps(start, [.. source], [.. tap]);
        }
    }
}
