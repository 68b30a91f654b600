namespace GrpcExplain.Kernels.Tests.Support;

/// <summary>
/// The one error metric of the suite: relative error = max|a − b| / max|b| over a whole tensor, so
/// elements near zero do not dominate, and a failure names the worst element.
/// </summary>
public static class Accuracy
{
    /// <summary>What the backends must reach against the double-precision reference.</summary>
    public const double BackendTolerance = 1e-4;

    /// <summary>What the references' analytic gradients must reach against finite differences.</summary>
    public const double GradientTolerance = 1e-6;

    public static void AssertClose(string what, ReadOnlySpan<float> actual, double[] expected, Shape? shape = null, double tolerance = BackendTolerance)
    {
        var a = new double[actual.Length];
        for (int i = 0; i < a.Length; i++) a[i] = actual[i];
        AssertClose(what, a, expected, shape, tolerance);
    }

    public static void AssertClose(string what, double[] actual, double[] expected, Shape? shape = null, double tolerance = BackendTolerance)
    {
        Assert.True(actual.Length == expected.Length, $"{what}: {actual.Length} values, expected {expected.Length}.");
        for (int i = 0; i < actual.Length; i++)
            if (!double.IsFinite(actual[i]))
                Assert.Fail($"{what}: element {Where(i, shape)} is {actual[i]} (expected {expected[i]:G9}); a NaN here usually means the kernel never wrote it.");

        double maxRef = 0, maxDiff = 0;
        int worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
            double d = Math.Abs(actual[i] - expected[i]);
            if (d > maxDiff) (maxDiff, worst) = (d, i);
        }
        // An all-zero reference (a gradient through a zero noise strength, say) must come back as exact zeros.
        double rel = maxRef == 0 ? (maxDiff == 0 ? 0 : double.PositiveInfinity) : maxDiff / maxRef;
        if (rel > tolerance)
            Assert.Fail($"{what}: relative error {rel:E2} > {tolerance:E0}; worst element {Where(worst, shape)}: " +
                        $"got {actual[worst]:G9}, expected {expected[worst]:G9} (|diff| {maxDiff:E3}, max |expected| {maxRef:G6}).");
    }

    public static void AssertClose(string what, float actual, double expected, double tolerance = BackendTolerance) =>
        AssertClose(what, [actual], [expected], null, tolerance);

    /// <summary>The element's coordinates in the shape, when known, and its flat index.</summary>
    private static string Where(int index, Shape? shape)
    {
        if (shape is not { } s || s.Length == 0) return $"#{index}";
        var coords = new int[s.Rank];
        int rest = index;
        for (int axis = s.Rank - 1; axis >= 0; axis--)
        {
            coords[axis] = rest % s[axis];
            rest /= s[axis];
        }
        return $"[{string.Join(", ", coords)}] (#{index} of shape {s})";
    }
}
