namespace GrpcExplain.Training.Gan;

/// <summary>
/// The two running averages of StyleGAN2 training. G_ema, the generator that is evaluated and shipped:
/// after every minibatch each parameter moves to p + β·(p_ema − p) (torch's p.lerp(p_ema, β)), with
/// β = 0.5^(batch / ema_nimg), a half-life of ema_nimg = ema_kimg·1000 images, or with a ramp-up
/// min(ema_kimg·1000, images seen before this minibatch · rampup); buffers (w_avg, the noise_const
/// maps) are copied. And w_avg, the centre truncation pulls towards: at every mapping of
/// a training minibatch, w_avg = mean_n(w) + 0.995·(w_avg − mean_n(w)) (MappingNetwork's w_avg_beta).
/// Float32 as PyTorch computes them.
/// </summary>
public static class GeneratorAverages
{
    public const float WAvgBeta = 0.995f;

    public static double EmaBeta(int batch, double emaKimg, double? rampup, long imagesSeen)
    {
        double emaNimg = emaKimg * 1000;
        if (rampup is { } r) emaNimg = Math.Min(emaNimg, imagesSeen * r);
        return Math.Pow(0.5, batch / Math.Max(emaNimg, 1e-8));
    }

    /// <summary>ema ← p + β·(ema − p), element by element.</summary>
    public static void Ema(float[] ema, float[] p, double beta)
    {
        ArgumentNullException.ThrowIfNull(ema);
        ArgumentNullException.ThrowIfNull(p);
        if (ema.Length != p.Length) throw new ArgumentException($"The average holds {ema.Length} values, the parameter {p.Length}.", nameof(ema));
        float b = (float)beta;
        for (int i = 0; i < p.Length; i++) ema[i] = p[i] + b * (ema[i] - p[i]);
    }

    /// <summary>w_avg ← mean + 0.995·(w_avg − mean), mean over the batch of w [N, w_dim] (or ws [N, num_ws, w_dim], of which layer 0).</summary>
    public static void TrackWAvg(float[] wAvg, float[] ws, int n, int numWs)
    {
        ArgumentNullException.ThrowIfNull(wAvg);
        ArgumentNullException.ThrowIfNull(ws);
        int wDim = wAvg.Length;
        if (ws.Length != n * numWs * wDim) throw new ArgumentException($"ws hold {ws.Length} values; expected [{n}, {numWs}, {wDim}].", nameof(ws));
        for (int j = 0; j < wDim; j++)
        {
            float sum = 0;
            for (int s = 0; s < n; s++) sum += ws[s * numWs * wDim + j];
            float mean = sum / n;
            wAvg[j] = mean + WAvgBeta * (wAvg[j] - mean);
        }
    }
}
