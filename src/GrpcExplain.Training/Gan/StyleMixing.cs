namespace GrpcExplain.Training.Gan;

/// <summary>
/// Style mixing regularisation as stylegan2-ada-pytorch's StyleGAN2Loss.run_G does it: with probability
/// p a whole minibatch switches, from one cutoff layer uniform in [1, num_ws) on, to the ws of a second
/// z (so neighbouring layers learn not to rely on sharing one w); otherwise the cutoff is num_ws and
/// nothing is mixed. ws are [N, num_ws, w_dim] in C order.
/// </summary>
public static class StyleMixing
{
    /// <summary>The first layer taken from the second z; num_ws means no mixing.</summary>
    public static int Cutoff(Random random, int numWs, double probability)
    {
        ArgumentNullException.ThrowIfNull(random);
        // Both numbers are always drawn, as NVIDIA draws both tensors, so the stream does not depend on p.
        int cutoff = random.Next(1, Math.Max(numWs, 2));
        return random.NextDouble() < probability && numWs > 1 ? cutoff : numWs;
    }

    /// <summary>ws1 for layers below the cutoff, ws2 from it on.</summary>
    public static float[] Mix(float[] ws1, float[] ws2, int n, int numWs, int wDim, int cutoff)
    {
        Check(ws1, n, numWs, wDim, cutoff);
        Check(ws2, n, numWs, wDim, cutoff);
        var ws = (float[])ws1.Clone();
        for (int s = 0; s < n; s++)
            Array.Copy(ws2, (s * numWs + cutoff) * wDim, ws, (s * numWs + cutoff) * wDim, (numWs - cutoff) * wDim);
        return ws;
    }

    /// <summary>
    /// dL/dws split by which z fed each layer: the first keeps the layers below the cutoff (zeros above),
    /// the second the layers from it on (zeros below); each goes back through the mapping with its own z.
    /// </summary>
    public static (float[] First, float[] Second) Split(float[] dWs, int n, int numWs, int wDim, int cutoff)
    {
        Check(dWs, n, numWs, wDim, cutoff);
        var first = (float[])dWs.Clone();
        var second = new float[dWs.Length];
        for (int s = 0; s < n; s++)
        {
            int from = (s * numWs + cutoff) * wDim, count = (numWs - cutoff) * wDim;
            Array.Copy(dWs, from, second, from, count);
            Array.Clear(first, from, count);
        }
        return (first, second);
    }

    private static void Check(float[] ws, int n, int numWs, int wDim, int cutoff)
    {
        ArgumentNullException.ThrowIfNull(ws);
        if (ws.Length != n * numWs * wDim) throw new ArgumentException($"ws hold {ws.Length} values; expected [N, num_ws, w_dim] = [{n}, {numWs}, {wDim}].", nameof(ws));
        if (cutoff < 0 || cutoff > numWs) throw new ArgumentOutOfRangeException(nameof(cutoff), cutoff, $"The cutoff must be in [0, {numWs}].");
    }
}
