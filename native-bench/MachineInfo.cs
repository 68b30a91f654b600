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

    public static void Print(TextWriter w)
    {
        w.WriteLine($"machine: {CpuModel}, {Environment.ProcessorCount} cores, {Isa}; {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        var load = LoadAverage();
        if (load is null) return;
        w.WriteLine($"load average: {load[0]:F2} {load[1]:F2} {load[2]:F2}");
        if (load[0] > 0.5 * Environment.ProcessorCount)
            w.WriteLine($"!! The machine is busy (load {load[0]:F1} on {Environment.ProcessorCount} cores): timings will be low and noisy. Rerun when it is quiet.");
    }

    private static IEnumerable<string> ReadLines(string path) => File.Exists(path) ? File.ReadLines(path) : [];
}
