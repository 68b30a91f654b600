using System.Buffers;

namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    protected override void Upfirdn2dForwardCore(Tensor x, Tensor y, Upfirdn2dParams p) =>
        Upfirdn2d(D(x), x.Shape, D(y), y.Shape, p);

    /// <summary>The epilogue runs on each output plane as soon as it is filtered, while it is in cache.</summary>
    internal override void Upfirdn2dForwardCore(Tensor x, Tensor y, Upfirdn2dParams p, ConvEpilogue? epilogue) =>
        Upfirdn2d(D(x), x.Shape, D(y), y.Shape, p, EpilogueArgs.Of(epilogue));

    // The adjoint of upfirdn2d is upfirdn2d with up and down swapped and the filter flipped.
    protected override void Upfirdn2dBackwardCore(Tensor dy, Tensor dx, Upfirdn2dParams p)
    {
        var (_, _, h, w) = dx.Shape.Nchw;
        Upfirdn2d(D(dy), dy.Shape, D(dx), dx.Shape, p.Adjoint(h, w));
    }

    /// <summary>
    /// Polyphase: for every output row and column the few input pixels (and taps) that reach it are
    /// listed once per call, so the inner loops skip the inserted zeros and the padding entirely.
    /// A separable filter runs as a horizontal then a vertical 1-D pass, the vertical one as row AXPYs.
    /// </summary>
    private unsafe void Upfirdn2d(float[] x, Shape xShape, float[] y, Shape yShape, Upfirdn2dParams p, EpilogueArgs epilogue = default)
    {
        var (n, c, h, w) = xShape.Nchw;
        var (_, _, oh, ow) = yShape.Nchw;
        var f = p.Filter;
        var rows = PolyphaseTaps.Of(oh, h, p.Up, p.Down, p.PadY0, f.Height);
        var cols = PolyphaseTaps.Of(ow, w, p.Up, p.Down, p.PadX0, f.Width);
        if (f.Factors is { } factors)
        {
            float[] fy = factors.Y.Select(v => v * p.Gain).ToArray(), fx = factors.X;
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
                        // Plain filtering: each tap is one shifted AXPY over the row.
                        interRow.Clear();
                        for (int t = 0; t < fx.Length; t++)
                        {
                            int shift = t - p.PadX0, lo = Math.Max(0, -shift), hi = Math.Min(ow, w - shift);
                            if (hi > lo) Simd.Axpy(fx[fx.Length - 1 - t], srcRow.Slice(lo + shift, hi - lo), interRow.Slice(lo, hi - lo));
                        }
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
                {
                    var dstRow = dst.Slice(oy * ow, ow);
                    dstRow.Clear();
                    for (int e = rows.Start[oy]; e < rows.Start[oy + 1]; e++)
                        Simd.Axpy(fy[rows.Tap[e]], inter.AsSpan(rows.Source[e] * ow, ow), dstRow);
                }
                ArrayPool<float>.Shared.Return(inter);
                Finish(dst, plane);
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
            Finish(dst, plane);
        }, (long)oh * ow * f.Taps.Length);

        void Finish(Span<float> plane, int index)
        {
            if (!epilogue.Active) return;
            fixed (float* d = plane) epilogue.Apply(d, plane.Length, index / c, index % c, 0, plane.Length);
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
