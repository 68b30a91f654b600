namespace GrpcExplain.Explain.Generation;

/// <summary>
/// A batch of intermediate latents in C order: [Count, WDim] in W (one w read by every synthesis
/// layer) when <see cref="NumWs"/> is 0, [Count, NumWs, WDim] in W+ (one w per layer) otherwise; and
/// the noise maps they go with when those are not the generator's stored ones (<see cref="NoiseMaps"/>).
/// </summary>
public sealed record Latents
{
    public Latents(float[] values, int count, int wDim, int numWs = 0)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (count < 1 || wDim < 1 || numWs < 0) throw new ArgumentException($"Latents need a positive count and w_dim and a non-negative num_ws, got {count}, {wDim}, {numWs}.");
        if ((long)count * Math.Max(numWs, 1) * wDim != values.Length)
            throw new ArgumentException($"{values.Length} values do not make {count} latents of {Math.Max(numWs, 1)}x{wDim}.", nameof(values));
        (Values, Count, WDim, NumWs) = (values, count, wDim, numWs);
    }

    public float[] Values { get; }

    public int Count { get; }

    public int WDim { get; }

    /// <summary>Layers of a W+ latent; 0 for W.</summary>
    public int NumWs { get; }

    public bool IsWPlus => NumWs > 0;

    /// <summary>
    /// The synthesis layers' noise maps, [r, r] by layer name, shared by every sample: those a projection
    /// optimised along with these latents. Null means the generator's stored maps. Every batch made from
    /// these latents (<see cref="Slice"/>, <see cref="Moved"/>) keeps them, so a walk continues the reconstruction.
    /// </summary>
    public IReadOnlyDictionary<string, float[]>? NoiseMaps { get; init; }

    /// <summary>Values per sample: w_dim in W, num_ws × w_dim in W+.</summary>
    public int RowLength => Math.Max(NumWs, 1) * WDim;

    /// <summary>The shape as the protos write it: [N, w_dim] or [N, num_ws, w_dim].</summary>
    public int[] Shape => IsWPlus ? [Count, NumWs, WDim] : [Count, WDim];

    public ReadOnlySpan<float> Row(int index) => Values.AsSpan(index * RowLength, RowLength);

    /// <summary>Samples start to start + count − 1 as a batch of their own.</summary>
    public Latents Slice(int start, int count) => new(Values.AsSpan(start * RowLength, count * RowLength).ToArray(), count, WDim, NumWs) { NoiseMaps = NoiseMaps };

    /// <summary>
    /// One latent moved along a direction: w + alpha × d for each alpha, as one batch. A direction of
    /// w_dim values moves every layer of a W+ latent alike; one of num_ws × w_dim values needs a W+ latent.
    /// </summary>
    public Latents Moved(ReadOnlySpan<float> direction, params ReadOnlySpan<float> alphas)
    {
        if (Count != 1) throw new InvalidOperationException($"Only a single latent is moved along a direction; this batch has {Count}.");
        if (direction.Length != WDim && direction.Length != RowLength)
            throw new ArgumentException($"A direction of {direction.Length} values does not fit latents of {Math.Max(NumWs, 1)}x{WDim}.", nameof(direction));
        int row = RowLength;
        var moved = new float[alphas.Length * row];
        for (int k = 0; k < alphas.Length; k++)
            for (int i = 0; i < row; i++)
                moved[k * row + i] = Values[i] + alphas[k] * direction[i % direction.Length];
        return new Latents(moved, alphas.Length, WDim, NumWs) { NoiseMaps = NoiseMaps };
    }
}
