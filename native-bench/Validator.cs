using NativeBench.Cases;

namespace NativeBench;

/// <summary>
/// llm.c's validate-then-benchmark: before a variant is timed at a shape, it runs the op at the reduced
/// shape and its outputs are compared with the double-precision reference. Each reduced shape is checked
/// once per variant and direction (many full shapes share one), and each reference computed once.
/// </summary>
internal sealed class Validator
{
    private readonly Dictionary<string, double[][]> _expected = [];
    private readonly Dictionary<string, double> _errors = [];
    private readonly System.Diagnostics.Stopwatch _clock = new();

    /// <summary>Time spent validating, references included.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>The max relative error of the variant at the case's reduced shape. Throws what the kernel throws.</summary>
    public double MaxRelativeError(Variant v, KernelCase full, Direction d)
    {
        var c = full.Reduced();
        var key = $"{c.Key} {d.Name()}";
        if (_errors.TryGetValue($"{v.Name} {key}", out var known)) return known;
        _clock.Start();
        try
        {
            return _errors[$"{v.Name} {key}"] = Check(v, c, d, key);
        }
        finally
        {
            _clock.Stop();
        }
    }

    private double Check(Variant v, KernelCase c, Direction d, string key)
    {
        float[][] actual;
        using (var bound = c.Bind(v.Backend))
        {
            if (d == Direction.Backward && bound.BackwardNeedsForward) bound.Call(Direction.Forward)();
            bound.Call(d)();
            actual = bound.Download(d);
        }
        if (!_expected.TryGetValue(key, out var expected)) _expected[key] = expected = c.Expected(d);
        return Accuracy.MaxRelativeError(actual, expected);
    }
}
