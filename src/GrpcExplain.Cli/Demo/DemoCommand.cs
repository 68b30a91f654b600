using System.CommandLine;
using GrpcExplain.Cli.Explain;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;

namespace GrpcExplain.Cli.Demo;

/// <summary>
/// <c>grpcexplain demo</c>: the whole system on this machine. <c>make-synthetic-pairing</c> (hidden)
/// writes the placeholder model pairing that the demo falls back on until trained models are bundled.
/// </summary>
internal static class DemoCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        var output = new Option<string>("--out") { Description = "Where the explanations go, one folder per input.", HelpName = "DIR", DefaultValueFactory = _ => "grpcexplain-demo" };
        var models = new Option<string>("--models") { Description = "The bundled models folder (default: models/ beside the executable or in the repository root).", HelpName = "DIR" };
        var frames = new Option<int>("--frames") { Description = "Frames per walk, at most.", HelpName = "K", DefaultValueFactory = _ => ExplainSettings.DefaultFrames };
        var steps = new Option<int>("--projection-steps") { Description = "Projection steps per input.", HelpName = "N", DefaultValueFactory = _ => ExplainSettings.DefaultProjectionSteps };
        var samples = new Option<int>("--probe-samples") { Description = "Latents the coordinator samples to fit each linear probe (once per classifier and class).", HelpName = "N", DefaultValueFactory = _ => ExplainSettings.DefaultProbeSamples };
        var backend = new Option<string>("--backend") { Description = "Where the generator's kernels run; auto is cuda when an NVIDIA GPU is present, else cpu.", HelpName = string.Join('|', Backends.Names), DefaultValueFactory = _ => "auto" };
        var command = new Command("demo", "Start the generator, classifier and coordinator services on loopback with the bundled default models " +
            "(trained ones when bundled, else the synthetic placeholder) and explain a few example inputs end to end.")
        {
            output, models, frames, steps, samples, backend,
        };
        command.SetAction(parsed =>
        {
            int k = parsed.GetValue(frames), n = parsed.GetValue(steps), probe = parsed.GetValue(samples);
            if (k < 2 || k > ExplainSettings.MaxFrames) throw new UsageException($"--frames must be from 2 to {ExplainSettings.MaxFrames}, got {k}.");
            if (n < 1 || n > ExplainSettings.MaxProjectionSteps) throw new UsageException($"--projection-steps must be from 1 to {ExplainSettings.MaxProjectionSteps}, got {n}.");
            if (probe < 10) throw new UsageException($"--probe-samples must be at least 10, got {probe}.");
            string kernels = parsed.GetValue(backend)!;
            if (!Backends.Names.Contains(kernels)) throw new UsageException($"--backend '{kernels}': choose one of {string.Join(", ", Backends.Names)}.");
            string folder = parsed.GetValue(output)!;
            if (File.Exists(folder)) throw new UsageException($"--out '{folder}' is a file; name a folder (it is created when missing).");
            var demo = new DemoRun(new DemoSettings(ModelCatalog.FindRoot(parsed.GetValue(models)), folder, k, n, probe, kernels), stdout, stderr, interactive);
            return demo.ExecuteAsync(cancellation).GetAwaiter().GetResult();
        });
        return command;
    }

    /// <summary>Hidden: writes the synthetic placeholder pairing (see <see cref="SyntheticPairing"/>).</summary>
    public static Command MakeSyntheticPairing(TextWriter stdout)
    {
        var output = new Option<string>("--out") { Description = "The pairing's folder, e.g. models/synthetic-64.", Required = true, HelpName = "DIR" };
        var seed = new Option<int>("--seed") { Description = "Seed of the weights and the direction.", HelpName = "S", DefaultValueFactory = _ => 64 };
        var size = new Option<string>("--size") { Description = "small: the bundled placeholder (few channels); full: the 64x64 configuration of the trained default, for benchmarks.", HelpName = "small|full", DefaultValueFactory = _ => "small" };
        var command = new Command("make-synthetic-pairing", "Write a synthetic placeholder model pairing (random generator, classifier on a known latent direction).")
        {
            output, seed, size,
        };
        command.Hidden = true;
        command.SetAction(parsed =>
        {
            GeneratorConfig config = parsed.GetValue(size) switch
            {
                "small" => SyntheticPairing.Small64,
                "full" => SyntheticPairing.Full64,
                var s => throw new UsageException($"--size '{s}': choose small or full."),
            };
            string folder = parsed.GetValue(output)!;
            SyntheticPairing.Write(folder, config, parsed.GetValue(seed));
            stdout.WriteLine($"Wrote the synthetic pairing {Path.GetFullPath(folder)}.");
            return ExitCodes.Success;
        });
        return command;
    }
}
