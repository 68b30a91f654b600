namespace GrpcExplain.Explain.Directions;

/// <summary>Small vector helpers the directions share.</summary>
internal static class Vectors
{
    /// <summary>A standard normal draw (Box–Muller).</summary>
    public static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>v / ‖v‖ as float32; <see cref="ProbeException"/> with <paramref name="whenZero"/> when v is zero or not finite.</summary>
    public static float[] Unit(IReadOnlyList<double> v, string whenZero)
    {
        double norm = Math.Sqrt(v.Sum(x => x * x));
        if (!(norm > 0) || !double.IsFinite(norm)) throw new ProbeException(whenZero);
        return [.. v.Select(x => (float)(x / norm))];
    }
}
