namespace GrpcExplain.StyleGan.Latents;

/// <summary>
/// The truncation trick on latents that are already in W: w_avg + psi·(w − w_avg), on the first
/// <c>cutoff</c> layers only when a cutoff is given, as MappingNetwork.forward applies it after
/// broadcasting. z latents get it inside <see cref="Generator.Map"/>; this is for w and W+ inputs.
/// </summary>
public static class WTruncation
{
    /// <summary>
    /// ws is [batch, layers, w_dim] (layers = 1 for one w per sample). Returns a new array, or ws itself when
    /// psi is 1. When a cutoff leaves some layers untouched, one-w latents are first broadcast to
    /// [batch, numWs, w_dim] so that the layers can differ.
    /// </summary>
    public static float[] Apply(float[] ws, int batch, int layers, int numWs, ReadOnlySpan<float> wAvg, float psi, int? cutoff, out int layersOut)
    {
        ArgumentNullException.ThrowIfNull(ws);
        int wDim = wAvg.Length;
        if (ws.Length != batch * layers * wDim)
            throw new ArgumentException($"ws holds {ws.Length} values, expected [{batch}, {layers}, {wDim}].", nameof(ws));
        layersOut = layers;
        if (psi == 1f) return ws;
        bool partial = cutoff is { } k && k < numWs;
        if (partial && layers == 1)
        {
            ws = Broadcast(ws, batch, numWs, wDim);
            layers = layersOut = numWs;
        }
        int truncated = partial ? cutoff!.Value : layers;
        var result = (float[])ws.Clone();
        for (int n = 0; n < batch; n++)
            for (int l = 0; l < Math.Min(truncated, layers); l++)
            {
                var w = result.AsSpan((n * layers + l) * wDim, wDim);
                for (int j = 0; j < wDim; j++) w[j] = Lerp(wAvg[j], w[j], psi);
            }
        return result;
    }

    /// <summary>torch.lerp(start, end, weight) with its two formulas (ATen picks by |weight| &lt; 0.5), so that results match NVIDIA's bit for bit.</summary>
    public static float Lerp(float start, float end, float weight) =>
        Math.Abs(weight) < 0.5f ? start + weight * (end - start) : end - (end - start) * (1f - weight);

    /// <summary>[batch, w_dim] → [batch, numWs, w_dim], the same w for every layer.</summary>
    public static float[] Broadcast(float[] w, int batch, int numWs, int wDim)
    {
        ArgumentNullException.ThrowIfNull(w);
        var ws = new float[batch * numWs * wDim];
        for (int n = 0; n < batch; n++)
            for (int l = 0; l < numWs; l++)
                w.AsSpan(n * wDim, wDim).CopyTo(ws.AsSpan((n * numWs + l) * wDim));
        return ws;
    }
}
