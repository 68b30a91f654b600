namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    protected override void FullyConnectedForwardCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, FullyConnectedParams p)
    {
        float[] xd = D(x), wd = D(weight), yd = D(y);
        float[]? bd = DOrNull(bias);
        int batch = x.Shape[0], inF = x.Shape[1], outF = weight.Shape[0];
        float wg = p.WeightGain(inF), gain = MathF.Sqrt(2);
        // Blocks of rows per work item, not single rows: at batch 1 the weight streams from memory, and a
        // thread that walks contiguous rows keeps the prefetcher ahead, where 1 KiB rows taken in turn by
        // the threads did not.
        int blocks = Gemm.CeilDiv(outF, FullyConnectedRowsPerItem);
        For(blocks, block =>
        {
            for (int o = block * FullyConnectedRowsPerItem; o < Math.Min(outF, (block + 1) * FullyConnectedRowsPerItem); o++)
            {
                var wRow = wd.AsSpan(o * inF, inF);
                for (int n = 0; n < batch; n++)
                {
                    float z = Simd.Dot(xd.AsSpan(n * inF, inF), wRow) * wg + (bd is null ? 0 : bd[o] * p.LrMul);
                    yd[n * outF + o] = p.LeakyRelu ? (z > 0 ? z : 0.2f * z) * gain : z;
                }
            }
        }, (long)batch * inF * FullyConnectedRowsPerItem);
    }

    private const int FullyConnectedRowsPerItem = 16;

    protected override void FullyConnectedBackwardCore(Tensor x, Tensor weight, Tensor y, Tensor dy, Tensor? dx, Tensor? dWeight, Tensor? dBias, FullyConnectedParams p)
    {
        float[] xd = D(x), wd = D(weight), yd = D(y), dyd = D(dy);
        int batch = x.Shape[0], inF = x.Shape[1], outF = weight.Shape[0];
        float wg = p.WeightGain(inF), gain = MathF.Sqrt(2);
        var dz = new float[batch * outF];
        for (int j = 0; j < dz.Length; j++) dz[j] = p.LeakyRelu ? dyd[j] * gain * (yd[j] > 0 ? 1 : 0.2f) : dyd[j];

        if (dx is not null)
        {
            var dxd = D(dx);
            For(batch, n =>
            {
                var row = dxd.AsSpan(n * inF, inF);
                row.Clear();
                for (int o = 0; o < outF; o++) Simd.Axpy(dz[n * outF + o] * wg, wd.AsSpan(o * inF, inF), row);
            }, (long)outF * inF);
        }
        if (dWeight is not null)
        {
            var dwd = D(dWeight);
            For(outF, o =>
            {
                var row = dwd.AsSpan(o * inF, inF);
                row.Clear();
                for (int n = 0; n < batch; n++) Simd.Axpy(dz[n * outF + o] * wg, xd.AsSpan(n * inF, inF), row);
            }, (long)batch * inF);
        }
        if (dBias is not null)
        {
            var dbd = D(dBias);
            for (int o = 0; o < outF; o++)
            {
                float s = 0;
                for (int n = 0; n < batch; n++) s += dz[n * outF + o];
                dbd[o] = s * p.LrMul;
            }
        }
    }
}
