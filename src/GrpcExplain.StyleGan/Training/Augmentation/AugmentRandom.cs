namespace GrpcExplain.StyleGan.Training.Augmentation;

/// <summary>
/// SplitMix64, one stream per (seed, sample): a sample's draw depends on nothing but the seed and its
/// index, so it is the same whatever the batch size, thread schedule or .NET version (System.Random
/// promises none of that), and resuming a run with the same seeds repeats its augmentations.
/// </summary>
internal struct AugmentRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private ulong _state;

    public AugmentRandom(int seed, int sample) =>
        _state = Mix(Mix((ulong)(uint)seed * Golden) ^ ((ulong)(uint)sample + 0x632BE59BD9B4E019UL));

    /// <summary>Uniform in [0, 1), 53 bits: u &lt; P is then never true at P = 0 and always at P = 1.</summary>
    public double NextUniform()
    {
        _state += Golden;
        return (Mix(_state) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Standard normal by Box-Muller; always two uniforms, so the stream's layout is fixed.</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextUniform(), u2 = NextUniform(); // u1 in (0, 1]: log(u1) is finite
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
