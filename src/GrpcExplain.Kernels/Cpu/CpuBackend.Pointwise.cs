namespace GrpcExplain.Kernels.Cpu;

// 1x1 stride-1 convolutions where one side has at most a few channels: ToRGB (to 3 channels) and the
// discriminator's FromRGB (from 3). A GEMM with 3 rows or a depth of 3 spends its time packing and
// storing, not multiplying; here every output plane is a handful of row AXPYs (or dot products for
// the weight gradient), straight from the tensors.
public sealed partial class CpuBackend
{
    private const int NarrowChannels = 4;

    private static bool IsNarrowPointwise(Tensor weight, ConvGeometry g) =>
        weight.Shape[2] == 1 && g.Stride == 1 && g.Padding == 0 && Math.Min(weight.Shape[0], weight.Shape[1]) <= NarrowChannels;

    /// <summary>Wc[o, i] for a 1x1 weight stored [co, ci] or, transposed, [ci, co].</summary>
    private static float Weight1x1(float[] w, int o, int i, int co, int ci, bool transposed) => transposed ? w[i * co + o] : w[o * ci + i];

    /// <summary>out[n, o] = outScale[n, o]·gain·Σ_i Wc[o, i]·inScale[n, i]·src[n, i], over whole planes.</summary>
    private void PointwiseSum(Tensor src, Tensor weight, Tensor dst, ConvGeometry g, Tensor? inScale, Tensor? outScale, bool sumOverWeightRows)
    {
        var (n, inC, h, w) = src.Shape.Nchw;
        int outC = dst.Shape[1], hw = h * w;
        // Forward sums over the weight's ci for each co; backward-data sums over co for each ci.
        int co = sumOverWeightRows ? inC : outC, ci = sumOverWeightRows ? outC : inC;
        float[] s = D(src), wt = D(weight), d = D(dst);
        float[]? si = DOrNull(inScale), so = DOrNull(outScale);
        For(n * outC, plane =>
        {
            int b = plane / outC, o = plane % outC;
            var dstRow = d.AsSpan(plane * hw, hw);
            dstRow.Clear();
            for (int i = 0; i < inC; i++)
            {
                float coef = (sumOverWeightRows ? Weight1x1(wt, i, o, co, ci, g.WeightTransposed) : Weight1x1(wt, o, i, co, ci, g.WeightTransposed))
                    * g.Gain * (si?[b * inC + i] ?? 1f) * (so?[plane] ?? 1f);
                Simd.Axpy(coef, s.AsSpan((b * inC + i) * hw, hw), dstRow);
            }
        }, (long)inC * hw);
    }

    /// <summary>dW[o, i] = gain·Σ_n Σ_p dy[n, o, p]·dyScale[n, o]·x[n, i, p]·xScale[n, i].</summary>
    private void PointwiseWeightGradient(Tensor x, Tensor dy, Tensor dWeight, ConvGeometry g, Tensor? xScale, Tensor? dyScale)
    {
        var (n, ci, h, w) = x.Shape.Nchw;
        int co = dy.Shape[1], hw = h * w;
        float[] xd = D(x), dyd = D(dy), dw = D(dWeight);
        float[]? sx = DOrNull(xScale), sdy = DOrNull(dyScale);
        For(co * ci, j =>
        {
            int o = j / ci, i = j % ci;
            double acc = 0;
            for (int b = 0; b < n; b++)
                acc += Simd.Dot(dyd.AsSpan((b * co + o) * hw, hw), xd.AsSpan((b * ci + i) * hw, hw)) * (sdy?[b * co + o] ?? 1f) * (sx?[b * ci + i] ?? 1f);
            dw[g.WeightTransposed ? i * co + o : o * ci + i] = (float)acc * g.Gain;
        }, (long)n * hw);
    }
}
