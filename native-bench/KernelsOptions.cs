using System.Globalization;
using NativeBench.Cases;

namespace NativeBench;

internal sealed class OptionsException(string message) : Exception(message);

/// <summary>The options of `native-bench kernels`, parsed by hand: a handful of flags needs no library.</summary>
internal sealed record KernelsOptions
{
    public IReadOnlyList<string> Backends { get; init; } = ["cpu"];
    public bool IsaVariants { get; init; }
    public IReadOnlyList<string>? Ops { get; init; }
    public IReadOnlyList<Direction> Directions { get; init; } = [Direction.Forward, Direction.Backward];
    public IReadOnlyList<StyleGan2Config> Configs { get; init; } = StyleGan2Config.Known;
    public IReadOnlyList<int> Batches { get; init; } = [1, 8];
    public TimingOptions Timing { get; init; } = new(Repeat: 5, MinTimeSeconds: 0.02);
    public double Tolerance { get; init; } = 1e-4;
    public bool Baseline { get; init; } = true;
    public string? JsonPath { get; init; }
    public bool List { get; init; }
    public bool Help { get; init; }

    public const string Usage = """
        usage: dotnet run -c Release --project native-bench -- kernels [options]

        Validates every op, forward and backward, against the double-precision reference at a reduced
        shape, then times it at the layer shapes of StyleGAN2 64x64, 128x128 and 256x256 (generator and
        discriminator), beside im2col + OpenBLAS sgemm for the convolutions.

          --backend LIST     cpu, cpu-avx512, cpu-vector256, cpu-direct (Winograd off), cuda, ilgpu-cpu, auto;
                             comma-separated (default cpu)
          --variants         add the CPU backend's variants: instruction sets (cpu-avx512, cpu-vector256) and
                             cpu-direct (the direct implicit GEMM for every 3x3 convolution, Winograd off)
          --filter OPS       only these ops, comma-separated (see --list)
          --direction DIR    forward, backward or both (default both)
          --configs LIST     generator resolutions: 64,128,256 (default all three)
          --batch LIST       batch sizes (default 1,8)
          --repeat N         timed samples per row, median reported (default 5)
          --min-time S       seconds one sample lasts at least; short calls repeat inside it (default 0.02)
          --retries N        measure a row again, up to N times, while other processes take over 5% of the
                             cores (default 2; the least disturbed measurement is kept)
          --tolerance E      max relative error before a variant is flagged (default 1e-4)
          --quick            smoke run: 64x64, batch 1, 3 samples of 5 ms
          --no-baseline      skip the OpenBLAS baseline
          --json PATH        write the rows as a JSON array
          --list             list the ops and shapes of this selection and exit

        Exit code 1 when a variant's error is above the tolerance, 2 on bad options.
        """;

    public static KernelsOptions Parse(IReadOnlyList<string> args)
    {
        var o = new KernelsOptions();
        for (int k = 0; k < args.Count; k++)
        {
            string Value() => k + 1 < args.Count ? args[++k] : throw new OptionsException($"{args[k]} needs a value.");
            switch (args[k])
            {
                case "--backend": o = o with { Backends = Names(Value(), "--backend", Variants.Names) }; break;
                case "--variants": o = o with { IsaVariants = true }; break;
                case "--filter": o = o with { Ops = Names(Value(), "--filter", StyleGan2Layers.OpOrder) }; break;
                case "--direction":
                    o = o with
                    {
                        Directions = Value() switch
                        {
                            "forward" => [Direction.Forward],
                            "backward" => [Direction.Backward],
                            "both" => [Direction.Forward, Direction.Backward],
                            var v => throw new OptionsException($"--direction is forward, backward or both, not '{v}'."),
                        },
                    };
                    break;
                case "--configs": o = o with { Configs = [.. Ints(Value(), "--configs").Select(Config)] }; break;
                case "--batch": o = o with { Batches = Ints(Value(), "--batch") }; break;
                case "--repeat": o = o with { Timing = o.Timing with { Repeat = Int(Value(), "--repeat") } }; break;
                case "--min-time": o = o with { Timing = o.Timing with { MinTimeSeconds = Positive(Value(), "--min-time") } }; break;
                case "--retries": o = o with { Timing = o.Timing with { Retries = Count(Value(), "--retries") } }; break;
                case "--tolerance": o = o with { Tolerance = Positive(Value(), "--tolerance") }; break;
                case "--quick":
                    o = o with { Configs = [StyleGan2Config.Known[0]], Batches = [1], Timing = o.Timing with { Repeat = 3, MinTimeSeconds = 0.005 } };
                    break;
                case "--no-baseline": o = o with { Baseline = false }; break;
                case "--json": o = o with { JsonPath = Value() }; break;
                case "--list": o = o with { List = true }; break;
                case "-h" or "--help": o = o with { Help = true }; break;
                default: throw new OptionsException($"Unknown option '{args[k]}'.");
            }
        }
        return o;
    }

    private static List<string> Names(string value, string option, IReadOnlyList<string> allowed)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        var bad = items.Where(i => !allowed.Contains(i)).ToList();
        if (items.Count == 0 || bad.Count > 0)
            throw new OptionsException($"{option}: unknown '{string.Join(", ", bad)}'; choose from {string.Join(", ", allowed)}.");
        return items;
    }

    private static List<int> Ints(string value, string option)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var parsed = items.Select(i => int.TryParse(i, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : -1).ToList();
        if (parsed.Count == 0 || parsed.Contains(-1)) throw new OptionsException($"{option} takes positive integers, comma-separated, not '{value}'.");
        return [.. parsed.Distinct()];
    }

    private static int Int(string value, string option) =>
        Ints(value, option) is [var v] ? v : throw new OptionsException($"{option} takes one positive integer, not '{value}'.");

    private static int Count(string value, string option) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new OptionsException($"{option} takes a whole number, not '{value}'.");

    private static double Positive(string value, string option) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new OptionsException($"{option} takes a positive number, not '{value}'.");

    private static StyleGan2Config Config(int resolution) =>
        StyleGan2Config.Known.FirstOrDefault(c => c.Resolution == resolution)
        ?? throw new OptionsException($"--configs: no configuration for {resolution}; choose from {string.Join(", ", StyleGan2Config.Known.Select(c => c.Resolution))}.");
}
