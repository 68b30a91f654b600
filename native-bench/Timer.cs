using System.Diagnostics;
using GrpcExplain.Kernels;

namespace NativeBench;

/// <param name="Repeat">Timed samples per row; the row reports their median.</param>
/// <param name="MinTimeSeconds">How long one sample lasts at least: short calls are repeated inside it.</param>
/// <param name="Retries">Times a row is measured again when other processes took more than <see cref="Timer.NoisyShare"/> of the cores meanwhile.</param>
internal sealed record TimingOptions(int Repeat, double MinTimeSeconds, int Retries = 2);

internal readonly record struct Timing(double Ms, int Samples, int CallsPerSample);

internal static class Timer
{
    /// <summary>Other processes' share of the cores' time above which a measurement counts as disturbed.</summary>
    public const double NoisyShare = 0.05;

    /// <summary>Seconds from which a call is long enough that three samples do.</summary>
    public const double LongCall = 0.05;

    /// <summary>
    /// Runs a measurement, and again (up to <see cref="TimingOptions.Retries"/> times) while other processes
    /// took more than <see cref="NoisyShare"/> of the cores meanwhile; keeps the least disturbed one. Other
    /// engineers compile on these machines: a median alone does not survive a build running through a row.
    /// </summary>
    public static (T Result, double? OthersBusy) Quietly<T>(Func<T> measure, TimingOptions o)
    {
        (T Result, double? OthersBusy)? best = null;
        for (int attempt = 0; attempt <= o.Retries; attempt++)
        {
            var meter = new QuietMeter();
            var result = measure();
            var others = meter.OthersBusyFraction();
            if (best is null || others < best.Value.OthersBusy) best = (result, others);
            if (others is null or <= NoisyShare) break;
        }
        return best!.Value;
    }

    /// <summary>
    /// One warm-up call (JIT, caches, lazily allocated scratch), one call to estimate the duration, then
    /// samples of enough calls to last the minimum time each; every sample ends with the backend
    /// synchronized, so queued GPU work is inside the clock. Calls of 50 ms or more average out their
    /// own noise: their warm-up serves as the estimate and they take at most three samples, so full runs
    /// stay short.
    /// </summary>
    public static Timing Measure(Action call, Backend backend, TimingOptions o)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        double warmUp = Run(call, backend, 1);
        double estimate = warmUp >= LongCall ? warmUp : Run(call, backend, 1);
        int calls = (int)Math.Clamp(Math.Ceiling(o.MinTimeSeconds / Math.Max(estimate, 1e-7)), 1, 1_000_000);
        int samples = estimate >= LongCall ? Math.Min(o.Repeat, 3) : o.Repeat;
        var perCall = new double[samples];
        for (int s = 0; s < samples; s++) perCall[s] = Run(call, backend, calls) / calls;
        Array.Sort(perCall);
        double median = samples % 2 == 1 ? perCall[samples / 2] : (perCall[samples / 2 - 1] + perCall[samples / 2]) / 2;
        return new Timing(median * 1e3, samples, calls);
    }

    private static double Run(Action call, Backend backend, int calls)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) call();
        backend.Synchronize();
        return clock.Elapsed.TotalSeconds;
    }
}
