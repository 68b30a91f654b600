using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;

namespace NativeBench;

/// <summary>
/// The native baseline: native-bench/openblas/conv_bench (im2col + OpenBLAS sgemm, timed by Google
/// Benchmark), configured and built with CMake on first use, run on all cores for this run's convolution
/// shapes. Anything missing is reported with how to install it, and the run goes on without its rows.
/// </summary>
internal static class OpenBlasBaseline
{
    public const string Name = "openblas";

    /// <summary>A bare sgemm at the size DESIGN.md quotes (about 190 GFLOP/s on two Zen 4 cores): is the machine as expected?</summary>
    public const string SgemmSpec = "sgemm/forward/256,1024,2304";

    private const string InstallHint =
        "It needs CMake, a C++ compiler, Google Benchmark and OpenBLAS; on Debian or Ubuntu: " +
        "sudo apt-get update && sudo apt-get install -y cmake g++ libbenchmark-dev libopenblas-dev. " +
        "Continuing without the openblas rows.";

    /// <param name="MaxRelError">conv_bench's own check against a naive double-precision convolution at the reduced shape.</param>
    /// <param name="Samples">Google Benchmark's repetitions; Ms is their median.</param>
    public sealed record Result(string Op, string Direction, string Shape, double Ms, double? MaxRelError, int Samples);

    /// <summary>Finds and builds conv_bench; null, after saying why and how to install what is missing, when it cannot.</summary>
    public static string? Prepare(TextWriter log)
    {
        var source = FindSource();
        if (source is null)
        {
            log.WriteLine($"openblas: native-bench/openblas/CMakeLists.txt not found above {Environment.CurrentDirectory}; run from the repository. Continuing without the openblas rows.");
            return null;
        }
        return Build(source, log);
    }

    /// <summary>
    /// Times these benchmarks (the same repetitions and minimum time as the C# rows) on all cores; empty,
    /// after a message, when conv_bench fails. <paramref name="context"/> also prints OpenBLAS's build and threads.
    /// </summary>
    public static IReadOnlyList<Result> Run(string exe, IEnumerable<string> specs, TimingOptions timing, TextWriter log, bool context = false)
    {
        // JSON on stdout; errors on stderr, which the user sees.
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in new[]
        {
            $"--benchmark_repetitions={timing.Repeat}", "--benchmark_report_aggregates_only=true",
            $"--benchmark_min_time={timing.MinTimeSeconds}", "--benchmark_format=json",
        }.Concat(specs)) psi.ArgumentList.Add(a);
        psi.Environment["OPENBLAS_NUM_THREADS"] = Environment.ProcessorCount.ToString();
        using var p = Process.Start(psi)!;
        var json = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            log.WriteLine($"openblas: conv_bench exited with code {p.ExitCode}; no openblas rows for {string.Join(" ", psi.ArgumentList.Skip(4))}.");
            return [];
        }
        try
        {
            return Parse(json, context ? log : null);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            log.WriteLine($"openblas: cannot read conv_bench's output ({e.Message}).");
            return [];
        }
    }

    /// <summary>Google Benchmark's JSON: the median aggregate of each benchmark (or its one run when there was one repetition).</summary>
    private static List<Result> Parse(string json, TextWriter? log)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (log is not null && root.TryGetProperty("context", out var ctx))
        {
            string Get(string key) => ctx.TryGetProperty(key, out var v) ? v.ToString() : "?";
            log.WriteLine($"openblas: {Get("openblas_config")}, core {Get("openblas_corename")}, {Get("openblas_threads")} threads");
        }
        var results = new Dictionary<string, Result>();
        foreach (var b in root.GetProperty("benchmarks").EnumerateArray())
        {
            bool aggregate = b.GetProperty("run_type").GetString() == "aggregate";
            if (aggregate && b.GetProperty("aggregate_name").GetString() != "median") continue;
            var name = b.GetProperty("run_name").GetString() ?? "";
            if (name.EndsWith("/real_time", StringComparison.Ordinal)) name = name[..^"/real_time".Length];
            var parts = name.Split('/');
            if (parts.Length != 3) continue;
            double ms = b.GetProperty("real_time").GetDouble() * b.GetProperty("time_unit").GetString() switch
            {
                "ns" => 1e-6,
                "us" => 1e-3,
                "s" => 1e3,
                _ => 1,
            };
            double? err = b.TryGetProperty("max_rel_error", out var e) ? e.GetDouble() : null;
            int samples = b.TryGetProperty("repetitions", out var reps) ? reps.GetInt32() : 1;
            if (aggregate || !results.ContainsKey(name)) results[name] = new Result(parts[0], parts[1], parts[2], ms, err, samples);
        }
        return [.. results.Values];
    }

    /// <summary>Configures once, then lets CMake decide what to rebuild; null (and a message) on failure.</summary>
    private static string? Build(string source, TextWriter log)
    {
        var build = Path.Combine(source, "build");
        var cache = Path.Combine(build, "CMakeCache.txt");
        bool ok = (File.Exists(cache) || RunTool(log, "cmake", "-S", source, "-B", build, "-DCMAKE_BUILD_TYPE=Release"))
            && RunTool(log, "cmake", "--build", build, "--parallel");
        if (!ok)
        {
            // A failed configure caches its NOTFOUNDs; start afresh next time, after the install.
            if (File.Exists(cache)) File.Delete(cache);
            return null;
        }
        var exe = Path.Combine(build, "conv_bench");
        return File.Exists(exe) ? exe : null;
    }

    private static bool RunTool(TextWriter log, string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            if (p.ExitCode == 0) return true;
            log.WriteLine($"openblas: `{tool} {string.Join(' ', args)}` failed:");
            foreach (var line in (stdout.Result + stderr.Result).Split('\n').Where(l => l.Length > 0).TakeLast(12)) log.WriteLine($"    {line}");
            log.WriteLine($"openblas: {InstallHint}");
            return false;
        }
        catch (Win32Exception)
        {
            log.WriteLine($"openblas: `{tool}` was not found. {InstallHint}");
            return false;
        }
    }

    private static string? FindSource()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "native-bench", "openblas");
                if (File.Exists(Path.Combine(candidate, "CMakeLists.txt"))) return candidate;
            }
        return null;
    }
}
