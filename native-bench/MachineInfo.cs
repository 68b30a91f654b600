using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace NativeBench;

/// <summary>What the figures were measured on, and how busy it was.</summary>
internal static class MachineInfo
{
    public static string CpuModel =>
        ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
        ?? RuntimeInformation.ProcessArchitecture.ToString();

    public static string Isa => string.Join(" ", new[]
    {
        (Avx512F.IsSupported, "AVX-512F"), (Avx2.IsSupported, "AVX2"), (Fma.IsSupported, "FMA"),
        (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported, "NEON"),
    }.Where(f => f.Item1).Select(f => f.Item2).DefaultIfEmpty("no SIMD"));

    /// <summary>The 1-, 5- and 15-minute load averages, or null off Linux.</summary>
    public static double[]? LoadAverage()
    {
        var line = ReadLines("/proc/loadavg").FirstOrDefault();
        if (line is null) return null;
        return [.. line.Split(' ').Take(3).Select(double.Parse)];
    }

    /// <summary>Load average, and the share of the cores' time other processes took since the meter started.</summary>
    public static string Describe(QuietMeter meter)
    {
        var load = LoadAverage();
        var others = meter.OthersBusyFraction();
        return $"other processes kept the cores {(others is null ? "n/a" : $"{others * 100:F1}%")} busy; " +
            $"load average {(load is null ? "n/a" : $"{load[0]:F2} {load[1]:F2} {load[2]:F2}")}";
    }

    public static void Print(TextWriter w)
    {
        w.WriteLine($"machine: {CpuModel}, {Environment.ProcessorCount} cores, {Isa}; {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        var meter = new QuietMeter();
        Thread.Sleep(1000);
        w.WriteLine($"in the second before the run: {Describe(meter)}");
        if (meter.OthersBusyFraction() is > 0.05)
            w.WriteLine("!! Something else is using the CPUs: timings will be low and noisy. Rerun when the machine is quiet.");
    }

    private static IEnumerable<string> ReadLines(string path) => File.Exists(path) ? File.ReadLines(path) : [];
}

/// <summary>
/// How quiet the machine was: the cores' busy time (from /proc/stat) less this process's own and its
/// waited-for children's (conv_bench), as a share of all the cores' time since the meter started.
/// </summary>
internal sealed class QuietMeter
{
    private readonly (long Total, long Busy, long Self)? _start = Sample();

    /// <summary>
    /// Both counters advance in clock ticks sampled per core, so a tick or two of disagreement is jitter,
    /// not another process: that much is forgiven, or a quiet 100 ms row would read 5% disturbed.
    /// </summary>
    private const long JitterTicks = 2;

    public double? OthersBusyFraction()
    {
        if (_start is not { } a || Sample() is not { } b || b.Total <= a.Total) return null;
        return Math.Max(0, (double)(b.Busy - a.Busy - (b.Self - a.Self) - JitterTicks) / (b.Total - a.Total));
    }

    private static (long Total, long Busy, long Self)? Sample()
    {
        try
        {
            var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            var self = File.ReadAllText("/proc/self/stat");
            // Fields after "(comm) ": state is the 3rd field; utime, stime, cutime, cstime the 14th to 17th.
            var fields = self[(self.LastIndexOf(')') + 2)..].Split(' ');
            long mine = fields.Skip(11).Take(4).Select(long.Parse).Sum();
            long total = cpu.Take(8).Sum(); // user nice system idle iowait irq softirq steal
            return (total, total - cpu[3] - cpu[4], mine);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }
}
