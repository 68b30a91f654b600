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

    private void Upfirdn2d(float[] x, Shape xShape, float[] y, Shape yShape, Upfirdn2dParams p)
    {
        var (n, c, h, w) = xShape.Nchw;
        var (_, _, oh, ow) = yShape.Nchw;
        var f = p.Filter;
        // Pre-flip and scale the taps once: y[oy, ox] = Σ u[oy·down + ty − pad, ...]·tap[ty, tx].
        var taps = new float[f.Taps.Length];
        for (int t = 0; t < taps.Length; t++) taps[t] = f.Taps[taps.Length - 1 - t] * p.Gain;
        For(n * c, plane =>
        {
            var src = x.AsSpan(plane * h * w, h * w);
            var dst = y.AsSpan(plane * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    float acc = 0;
                    for (int ty = 0; ty < f.Height; ty++)
                    {
                        int uy = oy * p.Down + ty - p.PadY0;
                        if (uy < 0 || uy >= h * p.Up || uy % p.Up != 0) continue;
                        int row = uy / p.Up * w;
                        for (int tx = 0; tx < f.Width; tx++)
                        {
                            int ux = ox * p.Down + tx - p.PadX0;
                            if (ux < 0 || ux >= w * p.Up || ux % p.Up != 0) continue;
                            acc += src[row + ux / p.Up] * taps[ty * f.Width + tx];
                        }
                    }
                    dst[oy * ow + ox] = acc;
                }
        }, (long)oh * ow * taps.Length);
    }
}
