namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>Σ_k W[o,i,k]² for every (o, i).</summary>
    private float[] SquaredWeightNorms(Tensor weight) => Derived(weight, "squared norms", () => ComputeSquaredWeightNorms(weight));

    private static float[] ComputeSquaredWeightNorms(Tensor weight)
    {
        var (o, i, kh, kw) = weight.Shape.Nchw;
        var w = D(weight);
        int kk = kh * kw;
        var w2 = new float[o * i];
        for (int j = 0; j < w2.Length; j++)
        {
            float acc = 0;
            for (int t = j * kk; t < (j + 1) * kk; t++) acc += w[t] * w[t];
            w2[j] = acc;
        }
        return w2;
    }

    internal override void DemodulateCore(Tensor weight, Tensor styles, Tensor d)
    {
        int outC = weight.Shape[0], inC = weight.Shape[1], n = styles.Shape[0];
        float[] w2 = SquaredWeightNorms(weight), s = D(styles), dd = D(d);
        var s2 = new float[inC];
        for (int b = 0; b < n; b++)
        {
            for (int i = 0; i < inC; i++) s2[i] = s[b * inC + i] * s[b * inC + i];
            for (int o = 0; o < outC; o++)
                dd[b * outC + o] = 1f / MathF.Sqrt(Simd.Dot(w2.AsSpan(o * inC, inC), s2) + ModulatedConv2dParams.Epsilon);
        }
    }

    internal override void ModulateBackwardCore(Tensor x, Tensor dxs, Tensor styles, Tensor? dx, Tensor? dStyles)
    {
        var (n, c, h, w) = x.Shape.Nchw;
        int hw = h * w;
        float[] xd = D(x), g = D(dxs), s = D(styles);
        float[]? dxd = DOrNull(dx), ds = DOrNull(dStyles);
        For(n * c, plane =>
        {
            var gp = g.AsSpan(plane * hw, hw);
            if (ds is not null) ds[plane] = Simd.Dot(gp, xd.AsSpan(plane * hw, hw));
            if (dxd is not null) Simd.Scale(s[plane], gp, dxd.AsSpan(plane * hw, hw));
        }, hw);
    }

    internal override void DemodulateBackwardCore(Tensor weight, Tensor styles, Tensor d, Tensor y, Tensor dy, Tensor? dStyles, Tensor? dWeight)
    {
        var (outC, inC, kh, kw) = weight.Shape.Nchw;
        var (n, _, h, w) = y.Shape.Nchw;
        int hw = h * w, kk = kh * kw;
        float[] s = D(styles), dd = D(d), yd = D(y), dyd = D(dy), wd = D(weight);
        // g[n, o] = −(Σ_p dy·y / d)·d³ = −(Σ_p dy·y)·d²
        var g = new float[n * outC];
        For(n * outC, j => g[j] = -Simd.Dot(dyd.AsSpan(j * hw, hw), yd.AsSpan(j * hw, hw)) * dd[j] * dd[j], hw);
        if (dStyles is not null)
        {
            float[] w2 = SquaredWeightNorms(weight), ds = D(dStyles);
            for (int b = 0; b < n; b++)
                for (int i = 0; i < inC; i++)
                {
                    float acc = 0;
                    for (int o = 0; o < outC; o++) acc += g[b * outC + o] * w2[o * inC + i];
                    ds[b * inC + i] += s[b * inC + i] * acc;
                }
        }
        if (dWeight is not null)
        {
            var dw = D(dWeight);
            For(outC, o =>
            {
                for (int i = 0; i < inC; i++)
                {
                    float acc = 0;
                    for (int b = 0; b < n; b++) acc += g[b * outC + o] * s[b * inC + i] * s[b * inC + i];
                    Simd.Axpy(acc, wd.AsSpan((o * inC + i) * kk, kk), dw.AsSpan((o * inC + i) * kk, kk));
                }
            }, (long)inC * (n + kk));
        }
    }
}
