namespace GrpcExplain.Training.Data;

/// <summary>
/// Minibatches of indices into a dataset: each epoch a fresh permutation drawn from (seed, epoch) alone,
/// so a run resumed at epoch k draws what the uninterrupted run drew. No augmentation (x-flip is off).
/// </summary>
public sealed class MinibatchSampler
{
    public MinibatchSampler(int count, int batchSize, int seed, bool dropLast = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (dropLast && batchSize > count) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"larger than the {count} images, with dropLast no batch would remain.");
        Count = count;
        BatchSize = batchSize;
        Seed = seed;
        DropLast = dropLast;
    }

    public int Count { get; }

    public int BatchSize { get; }

    public int Seed { get; }

    /// <summary>Whether the last, short batch of an epoch is left out (every batch then has BatchSize indices).</summary>
    public bool DropLast { get; }

    public int BatchesPerEpoch => DropLast ? Count / BatchSize : (Count + BatchSize - 1) / BatchSize;

    /// <summary>The epoch's order: a Fisher-Yates shuffle seeded by (seed, epoch).</summary>
    public int[] Permutation(int epoch)
    {
        var order = new int[Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        new Random(EpochSeed(Seed, epoch)).Shuffle(order);
        return order;
    }

    /// <summary>The epoch's batches in order.</summary>
    public IEnumerable<int[]> Epoch(int epoch)
    {
        int[] order = Permutation(epoch);
        for (int b = 0; b < BatchesPerEpoch; b++)
        {
            int start = b * BatchSize;
            yield return order[start..Math.Min(start + BatchSize, Count)];
        }
    }

    // SplitMix64's finaliser over (seed, epoch): neighbouring epochs get unrelated seeds, the same pair the same
    // one on every run and platform (System.Random with a seed is the stable legacy generator).
    private static int EpochSeed(int seed, int epoch)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)epoch) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
