using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Weights;

namespace NativeBench.Generator;

/// <summary>
/// `native-bench generator`: whole generator forwards (z → mapping → synthesis → image on the host) per
/// backend and batch, in milliseconds per image, with PyTorch running the same weights through
/// stylegan2-ada-pytorch's operation sequence in the same run (--torch) as the baseline.
/// </summary>
internal static class GeneratorCommand
{
    private const string Usage = """
        usage: dotnet run -c Release --project native-bench -- generator (--weights F.safetensors | --config 64,128,256)
                   [--batch 1,8] [--backend cpu,cuda,...] [--repeat N] [--noise-mode const|random|none] [--torch [--torch-device cpu|cuda]] [--profile] [--winograd on|off] [--json OUT]

          --weights F    a generator in our safetensors format
          --config LIST  random-weight generators of the speed targets: 64 (64x64 RGB, 4096/256), 128 (128x128 grey,
                         8192/256), 256 (256x256 RGB, 16384/512)
          --winograd W   cpu: F(2x2, 3x3) Winograd for the 3x3 convolutions on maps of 16x16 and more (on, the default) or
                         the direct implicit GEMM everywhere (off), to compare the two
          --profile      also time every synthesis layer (and the mapping) on its own, backend synchronised after each
          --torch        also time PyTorch on the same weights (native-bench/torch/generator.py; needs python3 with torch),
                         unfused (stylegan2-ada-pytorch's training path) and fused (its grouped-convolution inference path)
          --torch-device D  where PyTorch runs: cpu (2 threads, the default) or cuda (TF32 off; each call ends with
                         the images on the host, as ours do); compare it with --backend cuda
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        string? weightsPath = null, json = null;
        List<int> configs = [], batches = [1, 8];
        List<string> backends = ["cpu"];
        int repeat = 5;
        bool torch = false, profile = false, winograd = true;
        string torchDevice = "cpu";
        var noise = NoiseMode.Const;
        try
        {
            for (int k = 0; k < args.Count; k++)
            {
                string Value() => k + 1 < args.Count ? args[++k] : throw new ArgumentException($"{args[k]} needs a value.");
                switch (args[k])
                {
                    case "--weights": weightsPath = Value(); break;
                    case "--config": configs = Ints(Value()); break;
                    case "--batch": batches = Ints(Value()); break;
                    case "--backend": backends = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries)]; break;
                    case "--repeat": repeat = Ints(Value())[0]; break;
                    case "--noise-mode": noise = Enum.Parse<NoiseMode>(Value(), ignoreCase: true); break;
                    case "--torch": torch = true; break;
                    case "--torch-device": torchDevice = Value() switch { "cpu" or "cuda" => args[k], var v => throw new ArgumentException($"--torch-device takes cpu or cuda, not '{v}'.") }; break;
                    case "--profile": profile = true; break;
                    case "--winograd": winograd = Value() switch { "on" => true, "off" => false, var v => throw new ArgumentException($"--winograd takes on or off, not '{v}'.") }; break;
                    case "--json": json = Value(); break;
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    default: throw new ArgumentException($"Unknown option '{args[k]}'.");
                }
            }
            if ((weightsPath is null) == (configs.Count == 0)) throw new ArgumentException("Give --weights or --config (one of them).");
            foreach (var b in backends) Backends.Parse(b);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        MachineInfo.Print(Console.Out);
        var rows = new List<Dictionary<string, object>>();
        var generators = weightsPath is not null
            ? [(weightsPath, GeneratorWeights.Load(weightsPath))]
            : configs.Select(r => ($"random {r}x{r}", BenchGenerators.RandomWeights(BenchGenerators.Config(r)))).ToList();
        foreach (var (label, weights) in generators)
        {
            var ours = new List<Dictionary<string, object>>();
            var c = weights.Config;
            Console.WriteLine($"{label}: {c.ImgResolution}x{c.ImgResolution}x{c.ImgChannels}, channel_base {c.ChannelBase}, channel_max {c.ChannelMax}, w_dim {c.WDim}, noise {noise}");
            foreach (var backendName in backends)
            {
                using var backend = backendName == "cpu" && !winograd
                    ? new GrpcExplain.Kernels.Cpu.CpuBackend(new() { WinogradMinPixels = int.MaxValue })
                    : Backends.Create(backendName);
                using var g = new GrpcExplain.StyleGan.Generator(backend, weights);
                foreach (int n in batches)
                {
                    var z = Normal(new Random(n), n * c.ZDim);
                    var meter = new QuietMeter();
                    var (ms, min, count) = TimeCalls(() => g.Synthesize(g.Map(z, n), n, noise), repeat);
                    var others = meter.OthersBusyFraction();
                    var row = Row(c, n, backend.Name, backend.Device, noise, ms, min, count);
                    if (others is { } o) row["others_busy"] = Math.Round(o, 3);
                    ours.Add(row);
                    Console.WriteLine($"  {backend.Name,-10} batch {n}: {ms / n,9:F2} ms per image, {1000 * n / ms,8:F1} images/s   ({backend.Device}; others {(others is null ? "n/a" : $"{others * 100:F0}%")} busy)");
                    if (profile) LayerProfile.Print(g, z, n, noise, repeat, Console.Out);
                }
            }
            rows.AddRange(ours);
            if (torch)
            {
                var baseline = TorchBaseline.Run(weights, batches, repeat, noise, torchDevice).ToList();
                rows.AddRange(baseline);
                CompareWithTorch(ours, baseline);
            }
        }
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(rows, Indented));
            Console.WriteLine($"wrote {rows.Count} rows to {json}");
        }
        return 0;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static Dictionary<string, object> Row(GeneratorConfig c, int batch, string backend, string device, NoiseMode noise, double ms, double min, int count) => new()
    {
        ["implementation"] = "ours", ["resolution"] = c.ImgResolution, ["channels"] = c.ImgChannels, ["channel_base"] = c.ChannelBase,
        ["channel_max"] = c.ChannelMax, ["w_dim"] = c.WDim, ["batch"] = batch, ["backend"] = backend, ["device"] = device,
        ["noise_mode"] = noise.ToString().ToLowerInvariant(),
        ["ms_per_image"] = Math.Round(ms / batch, 3), ["images_per_second"] = Math.Round(1000 * batch / ms, 2),
        ["median_ms"] = Math.Round(ms, 3), ["min_ms"] = Math.Round(min, 3), ["repeat"] = count,
    };

    /// <summary>
    /// Per batch, each of our rows against the faster PyTorch path of the same run; the ratio (PyTorch ms per
    /// image / ours, above 1: we are faster) goes into our row as speedup_vs_pytorch, with the path it beat.
    /// </summary>
    private static void CompareWithTorch(List<Dictionary<string, object>> ours, List<Dictionary<string, object>> baseline)
    {
        static double Ms(Dictionary<string, object> row) => row["ms_per_image"] is JsonElement e ? e.GetDouble() : Convert.ToDouble(row["ms_per_image"], CultureInfo.InvariantCulture);
        static int Batch(Dictionary<string, object> row) => row["batch"] is JsonElement e ? e.GetInt32() : (int)row["batch"];
        foreach (var row in ours)
        {
            var best = baseline.Where(t => Batch(t) == Batch(row)).MinBy(Ms);
            if (best is null) continue;
            double ratio = Ms(best) / Ms(row);
            string path = best["implementation"].ToString()!;
            row["speedup_vs_pytorch"] = Math.Round(ratio, 3);
            row["pytorch_best"] = path;
            Console.WriteLine($"  {row["backend"],-10} batch {Batch(row)}: {Ms(row),9:F2} ms per image vs {path} {Ms(best):F2}: {ratio:F2}x");
        }
    }

    /// <summary>One warm-up, then the median and minimum of the timed calls (long calls: at most 3), and how many.</summary>
    internal static (double Median, double Min, int Count) TimeCalls(Action call, int repeat)
    {
        var sw = Stopwatch.StartNew();
        call();
        if (sw.Elapsed.TotalSeconds > 2) repeat = Math.Min(repeat, 3);
        var times = new List<double>();
        for (int i = 0; i < repeat; i++)
        {
            sw.Restart();
            call();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return (times[times.Count / 2], times[0], times.Count);
    }

    internal static float[] Normal(Random rng, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())))];

    private static List<int> Ints(string s) => [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
}
