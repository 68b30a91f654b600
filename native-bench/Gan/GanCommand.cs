using System.Globalization;
using System.Text.Json;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Gan;
using NativeBench.Generator;

namespace NativeBench.Gan;

/// <summary>
/// `native-bench gan`: the phases of one StyleGAN2 training minibatch (Gmain, Dmain, and the lazy R1
/// step Dreg, which runs every r1_interval minibatches) per network size, batch and backend, and the
/// images per second and kimg per hour they add up to: what a training run of that size can afford on
/// this machine. Reals are random; ADA is on at p = 0.3, so the augmentation's cost is in the figures.
/// </summary>
internal static class GanCommand
{
    private const string Usage = """
        usage: dotnet run -c Release --project native-bench -- gan [--networks 4096/256,2048/128,1024/64] [--resolution 64]
                   [--channels 3] [--batch 16] [--backend cpu,cuda,...] [--repeat N] [--json OUT]

          --networks LIST  channel_base/channel_max pairs (channels(res) = min(base / res, max))
          --repeat N       timed calls of each phase after a warm-up (Dreg: at most 2); the median is reported
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        List<(int Base, int Max)> networks = [(4096, 256), (2048, 128), (1024, 64)];
        List<int> batches = [16];
        List<string> backends = ["cpu"];
        int resolution = 64, channels = 3, repeat = 3;
        string? json = null;
        try
        {
            for (int k = 0; k < args.Count; k++)
            {
                string Value() => k + 1 < args.Count ? args[++k] : throw new ArgumentException($"{args[k]} needs a value.");
                switch (args[k])
                {
                    case "--networks": networks = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Network)]; break;
                    case "--resolution": resolution = Int(Value()); break;
                    case "--channels": channels = Int(Value()); break;
                    case "--batch": batches = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Int)]; break;
                    case "--backend": backends = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries)]; break;
                    case "--repeat": repeat = Int(Value()); break;
                    case "--json": json = Value(); break;
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    default: throw new ArgumentException($"Unknown option '{args[k]}'.");
                }
            }
            if (repeat < 1) throw new ArgumentException("--repeat must be at least 1.");
            foreach (var b in backends) Backends.Parse(b);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        MachineInfo.Print(Console.Out);
        var rows = new List<Dictionary<string, object>>();
        foreach (var backendName in backends)
            foreach (var (channelBase, channelMax) in networks)
                foreach (int batch in batches)
                {
                    using var backend = Backends.Create(backendName);
                    var row = Measure(backend, new GanConfig
                    {
                        Data = "-", Resolution = resolution, Channels = channels, ChannelBase = channelBase, ChannelMax = channelMax, Batch = batch, Seed = 1,
                        Gamma = GanConfig.AutoGamma(resolution, batch),
                    }, repeat);
                    rows.Add(row);
                    Console.WriteLine($"  {backend.Name,-6} {resolution}x{resolution}x{channels} channel_base {channelBase}, channel_max {channelMax}, batch {batch}: " +
                        $"Gmain {row["gmain_ms"]} ms, Dmain {row["dmain_ms"]} ms, Dreg {row["dreg_ms"]} ms (every {row["r1_interval"]}): " +
                        $"{row["images_per_second"]} images/s, {row["kimg_per_hour"]} kimg/h ({backend.Device})");
                }
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(rows, Indented));
            Console.WriteLine($"wrote {rows.Count} rows to {json}");
        }
        return 0;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static Dictionary<string, object> Measure(Backend backend, GanConfig config, int repeat)
    {
        using var trainer = new GanTrainer(backend, GanTrainer.Initial(config) with { Ada = new(0.3, 0, 0, 0) });
        var reals = GeneratorCommand.Normal(new Random(1), config.Batch * config.Channels * config.Resolution * config.Resolution)
            .Select(v => Math.Clamp(v / 2, -1f, 1f)).ToArray();
        double g = GeneratorCommand.TimeCalls(() => trainer.GeneratorStep(1), repeat).Median;
        double d = GeneratorCommand.TimeCalls(() => trainer.DiscriminatorStep(1, reals), repeat).Median;
        double r1 = GeneratorCommand.TimeCalls(() => trainer.RegularizationStep(1, reals), Math.Min(repeat, 2)).Median;
        double perMinibatch = g + d + r1 / config.R1Interval;
        double imagesPerSecond = config.Batch * 1000 / perMinibatch;
        return new()
        {
            ["backend"] = backend.Name, ["device"] = backend.Device, ["resolution"] = config.Resolution, ["channels"] = config.Channels,
            ["channel_base"] = config.ChannelBase, ["channel_max"] = config.ChannelMax, ["batch"] = config.Batch, ["r1_interval"] = config.R1Interval,
            ["gmain_ms"] = Math.Round(g, 1), ["dmain_ms"] = Math.Round(d, 1), ["dreg_ms"] = Math.Round(r1, 1),
            ["images_per_second"] = Math.Round(imagesPerSecond, 2), ["kimg_per_hour"] = Math.Round(imagesPerSecond * 3.6, 1),
        };
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    private static (int, int) Network(string s) => s.Split('/') is [var b, var m] ? (Int(b), Int(m)) : throw new ArgumentException($"--networks: '{s}' is not channel_base/channel_max.");
}
