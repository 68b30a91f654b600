using System.Diagnostics;
using System.Text.Json;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Weights;

namespace NativeBench.Generator;

/// <summary>
/// Runs native-bench/torch/generator.py on the same weights (saved to a temporary file) and reads its rows; --check
/// first makes it compare its images with tools/stylegan2/reference.py's, so a baseline that computes something
/// else fails instead of timing.
/// </summary>
internal static class TorchBaseline
{
    public static IEnumerable<Dictionary<string, object>> Run(GeneratorWeights weights, IReadOnlyList<int> batches, int repeat, NoiseMode noise, string device)
    {
        var script = FindScript();
        var python = FindPython();
        if (python is null || script is null)
        {
            Console.WriteLine($"  torch: skipped ({(python is null ? "no python3 with torch found (Debian: apt-get install python3-torch)" : $"native-bench/torch/generator.py not found above {AppContext.BaseDirectory}")})");
            yield break;
        }
        var file = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.safetensors");
        var json = Path.ChangeExtension(file, ".json");
        weights.Save(file);
        try
        {
            var psi = new ProcessStartInfo(python, [script, "--weights", file, "--batch", string.Join(',', batches), "--repeat", repeat.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--noise-mode", noise.ToString().ToLowerInvariant(), "--device", device, "--json", json, "--check"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            foreach (var line in stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)) Console.WriteLine("  " + line);
            if (p.ExitCode != 0)
            {
                Console.WriteLine($"  torch: failed ({p.ExitCode}): {stderr.Result.Trim()}");
                yield break;
            }
            foreach (var row in JsonSerializer.Deserialize<List<Dictionary<string, JsonElement>>>(File.ReadAllText(json))!)
                yield return row.ToDictionary(kv => kv.Key, kv => (object)kv.Value);
        }
        finally
        {
            File.Delete(file);
            File.Delete(json);
        }
    }

    /// <summary>
    /// The script in the checkout this build came from (it imports tools/stylegan2 from there): the first folder
    /// above the build output that holds native-bench/torch/generator.py.
    /// </summary>
    private static string? FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "native-bench", "torch", "generator.py");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>The first of python3 and Debian's /usr/bin/python3 that imports torch.</summary>
    private static string? FindPython()
    {
        foreach (var candidate in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo(candidate, ["-c", "import torch"]) { RedirectStandardError = true, RedirectStandardOutput = true });
                if (p is null) continue;
                p.WaitForExit();
                if (p.ExitCode == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
        return null;
    }
}
