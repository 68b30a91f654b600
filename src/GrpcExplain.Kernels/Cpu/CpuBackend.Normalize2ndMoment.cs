namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    protected override void Normalize2ndMomentForwardCore(Tensor x, Tensor y)
    {
        float[] xd = D(x), yd = D(y);
        int batch = x.Shape[0], f = x.Shape[1];
        for (int n = 0; n < batch; n++)
        {
            var row = xd.AsSpan(n * f, f);
            Simd.Scale(Rsqrt2ndMoment(row), row, yd.AsSpan(n * f, f));
        }
    }

    protected override void Normalize2ndMomentBackwardCore(Tensor x, Tensor dy, Tensor dx)
    {
        float[] xd = D(x), dyd = D(dy), dxd = D(dx);
        int batch = x.Shape[0], f = x.Shape[1];
        for (int n = 0; n < batch; n++)
        {
            var row = xd.AsSpan(n * f, f);
            var g = dyd.AsSpan(n * f, f);
            var outRow = dxd.AsSpan(n * f, f);
            float r = Rsqrt2ndMoment(row), dot = Simd.Dot(g, row);
            Simd.Scale(r, g, outRow);
            Simd.Axpy(-r * r * r / f * dot, row, outRow);
        }
    }

    private static float Rsqrt2ndMoment(ReadOnlySpan<float> row) =>
        1f / MathF.Sqrt(Simd.Dot(row, row) / row.Length + Normalize2ndMoment.Epsilon);
}
