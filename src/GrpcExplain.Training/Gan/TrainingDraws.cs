namespace GrpcExplain.Training.Gan;

/// <summary>What a random draw is for; each gets its own stream, so adding a draw never shifts another.</summary>
public enum DrawPurpose
{
    GeneratorWeights = 1,
    DiscriminatorWeights,
    GeneratorZ,
    GeneratorMixingZ,
    GeneratorMixing,
    GeneratorNoise,
    GeneratorAugment,
    DiscriminatorZ,
    DiscriminatorMixingZ,
    DiscriminatorMixing,
    DiscriminatorNoise,
    FakeAugment,
    RealAugment,
    R1Augment,
    SampleGridZ,
    FidZ,
    FidNoise,
    RealOrder,
}

/// <summary>
/// Every random number of a run as a pure function of (seed, step, purpose): no generator carries
/// state from one step to the next, so a run resumed from a checkpoint at step k draws exactly what the
/// uninterrupted run drew there. System.Random with a seed is .NET's stable legacy generator (the same
/// sequence on every platform and version), seeded through SplitMix64's finaliser so that neighbouring
/// steps and purposes get unrelated streams.
/// </summary>
public static class TrainingDraws
{
    public static int Seed(int seed, long step, DrawPurpose purpose)
    {
        ulong z = Mix((ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)purpose);
        z = Mix(z ^ (ulong)step);
        return (int)(z & 0x7FFFFFFF);
    }

    public static Random Random(int seed, long step, DrawPurpose purpose) => new(Seed(seed, step, purpose));

    /// <summary><paramref name="count"/> standard normal values (Box-Muller in double, rounded to float).</summary>
    public static float[] Gaussian(int seed, long step, DrawPurpose purpose, int count) => Gaussian(Random(seed, step, purpose), count);

    public static float[] Gaussian(Random random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        var values = new float[count];
        for (int i = 0; i < count; i += 2)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble(), r = Math.Sqrt(-2 * Math.Log(u1));
            values[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count) values[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }
        return values;
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
