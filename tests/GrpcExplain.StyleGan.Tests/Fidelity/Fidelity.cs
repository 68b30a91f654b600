namespace GrpcExplain.StyleGan.Tests.Fidelity;

/// <summary>Runs a fixture case through our generator and compares tensors, saying how far apart they are.</summary>
internal static class Fidelity
{
    /// <summary>The bar for images and ws against PyTorch's float32 forward.</summary>
    public const double ForwardTolerance = 1e-3;

    /// <summary>
    /// Float32 against float64 autograd: the error of a sum of float32 products grows with the terms'
    /// size, not with the result's, so the bar is a fraction of the largest gradient element.
    /// </summary>
    public const double GradientRelativeTolerance = 1e-3;

    /// <summary>
    /// z: mapping with the case's class vector and truncation, then synthesis (ws is the mapping's
    /// output); w and W+: straight to synthesis (ws is null).
    /// </summary>
    public static (float[]? Ws, float[] Img) Forward(StyleGan.Generator g, Fixture f, FixtureCase c)
    {
        int n = f.Batch(c);
        if (c.LatentSpace == "z")
        {
            var ws = g.Map(f.Input(c, "z"), n, f.OptionalInput(c, "c"), c.Psi, c.Cutoff);
            return (ws, g.Synthesize(ws, n, c.Noise));
        }
        return (null, g.Synthesize(f.Input(c, c.LatentSpace == "w" ? "w" : "ws"), n, c.Noise));
    }

    /// <summary>A forward case's ws (where the fixture stored them) and image, each within <see cref="ForwardTolerance"/>.</summary>
    public static void CheckForward(GeneratorCache generators, string fixture, string @case, string backend)
    {
        var f = Fixture.Get(fixture);
        var c = f.Case(@case);
        var (ws, img) = Forward(generators.Get(f, backend), f, c);
        string where = $"{fixture}/{@case} on {backend}";
        if (c.Outputs.ContainsKey("ws"))
            Report(where, "ws, max error", AssertClose($"{where}: ws against PyTorch", f.Output(c, "ws"), ws!, ForwardTolerance));
        Report(where, "image, max error", AssertClose($"{where}: image against PyTorch", f.Output(c, "img"), img, ForwardTolerance));
    }

    /// <summary>Asserts max |actual − expected| ≤ tolerance (a NaN fails) and returns that maximum.</summary>
    public static double AssertClose(string what, float[] expected, float[] actual, double tolerance)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}.");
        double max = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(d)) d = double.PositiveInfinity;
            if (d > max) (max, at) = (d, i);
        }
        Assert.True(max <= tolerance,
            $"{what}: max |ours - expected| = {max:G4} at element {at} (ours {actual[at]:G6}, expected {expected[at]:G6}), " +
            $"tolerance {tolerance:G3}; max |expected| = {MaxAbs(expected):G4}.");
        return max;
    }

    /// <summary>Asserts max |actual − expected| ≤ 1e-3·max|expected| (+1e-7 for an all-zero gradient) and returns that error over max|expected|.</summary>
    public static double AssertGradient(string what, float[] expected, float[] actual)
    {
        double scale = MaxAbs(expected);
        return AssertClose(what, expected, actual, GradientRelativeTolerance * scale + 1e-7) / Math.Max(scale, 1e-30);
    }

    public static double MaxAbs(float[] a) => a.Length == 0 ? 0 : a.Max(v => Math.Abs((double)v));

    /// <summary>Writes the error to the test's output, so a passing run still shows the margin.</summary>
    public static void Report(string where, string what, double error) =>
        TestContext.Current.TestOutputHelper?.WriteLine($"{where}: {what} {error:G3}");
}
