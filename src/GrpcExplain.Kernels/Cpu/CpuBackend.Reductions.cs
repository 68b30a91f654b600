namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    protected override void SumOverBatchAndSpaceForwardCore(Tensor x, Tensor y)
    {
        var (n, c, h, w) = x.Shape.Nchw;
        float[] xd = D(x), yd = D(y);
        int hw = h * w;
        For(c, ch =>
        {
            double s = 0;
            for (int b = 0; b < n; b++) s += Simd.Sum(xd.AsSpan((b * c + ch) * hw, hw));
            yd[ch] = (float)s;
        }, (long)n * hw);
    }

    protected override void SumOverBatchAndSpaceBackwardCore(Tensor dy, Tensor dx)
    {
        var (n, c, h, w) = dx.Shape.Nchw;
        float[] dyd = D(dy), dxd = D(dx);
        for (int plane = 0; plane < n * c; plane++) dxd.AsSpan(plane * h * w, h * w).Fill(dyd[plane % c]);
    }
}

public sealed partial class CpuBackend
{
    protected override void AddForwardCore(Tensor a, Tensor b, Tensor y)
    {
        float[] ad = D(a), bd = D(b), yd = D(y);
        const int chunk = 1 << 16;
        For(Gemm.CeilDiv(ad.Length, chunk), c =>
        {
            int at = c * chunk, len = Math.Min(chunk, ad.Length - at);
            Simd.Add(ad.AsSpan(at, len), bd.AsSpan(at, len), yd.AsSpan(at, len));
        }, chunk);
    }
}
