namespace GrpcExplain.StyleGan.Projection;

/// <summary>
/// Adam over a fixed list of parameter arrays, updated in place, step for step as torch.optim.Adam
/// (no weight decay, not AMSGrad): bias corrections 1 − β^t, eps added after dividing √v by √(1 − β2^t).
/// </summary>
internal sealed class Adam(IReadOnlyList<float[]> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
{
    private readonly float[][] _m = [.. parameters.Select(p => new float[p.Length])];
    private readonly float[][] _v = [.. parameters.Select(p => new float[p.Length])];
    private int _t;

    /// <summary>One step with learning rate <paramref name="lr"/>; gradients in the parameters' order.</summary>
    public void Step(double lr, IReadOnlyList<float[]> gradients)
    {
        _t++;
        double bc1 = 1 - Math.Pow(beta1, _t), sqrtBc2 = Math.Sqrt(1 - Math.Pow(beta2, _t)), stepSize = lr / bc1;
        for (int k = 0; k < parameters.Count; k++)
        {
            float[] p = parameters[k], g = gradients[k], m = _m[k], v = _v[k];
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = (float)(beta1 * m[i] + (1 - beta1) * g[i]);
                v[i] = (float)(beta2 * v[i] + (1 - beta2) * g[i] * g[i]);
                p[i] -= (float)(stepSize * m[i] / (Math.Sqrt(v[i]) / sqrtBc2 + eps));
            }
        }
    }
}
