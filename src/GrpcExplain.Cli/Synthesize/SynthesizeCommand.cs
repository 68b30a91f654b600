using System.CommandLine;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;

namespace GrpcExplain.Cli.Synthesize;

/// <summary>
/// <c>grpcexplain synthesize</c>: the options, and their translation into a <see cref="SynthesizeRequest"/>.
/// System.CommandLine checks the syntax and types; the rules between options are checked here, so
/// that each wrong command line gets one message that says what to write instead.
/// </summary>
internal sealed class SynthesizeCommand
{
    private readonly Option<string> _weights = new("--weights") { Description = "Generator weights (safetensors with stylegan2-ada-pytorch names).", Required = true, HelpName = "F.safetensors" };
    private readonly Option<string> _latents = new("--latents") { Description = "Latents as .npy float32: [N, z_dim] (z), [N, w_dim] (w) or [N, num_ws, w_dim] (W+).", HelpName = "L.npy" };
    private readonly Option<string> _seeds = new("--seeds") { Description = "Draw z per seed as NVIDIA's generate.py does, e.g. 0-7,10,12-13.", HelpName = "LIST" };
    private readonly Option<string> _space = new("--latent-space") { Description = "What --latents holds: z (default for [N, D]) or w (implied by [N, num_ws, w_dim]).", HelpName = "z|w" };
    private readonly Option<int?> _class = new("--class") { Description = "Class index for a conditional generator (required then).", HelpName = "C" };
    private readonly Option<float> _psi = new("--truncation") { Description = "Truncation psi: w = w_avg + psi·(w − w_avg).", HelpName = "PSI", DefaultValueFactory = _ => 1f };
    private readonly Option<int?> _cutoff = new("--truncation-cutoff") { Description = "Truncate only the first K of the num_ws layers.", HelpName = "K" };
    private readonly Option<string> _noise = new("--noise-mode") { Description = "Per-layer noise: the stored maps, fresh ones, or none.", HelpName = "const|random|none", DefaultValueFactory = _ => "const" };
    private readonly Option<int> _noiseSeed = new("--noise-seed") { Description = "Seed for --noise-mode random (each batch adds its first image's index).", HelpName = "S" };
    private readonly Option<string> _backend = new("--backend") { Description = "Where the kernels run; auto is cuda when an NVIDIA GPU is present, else cpu.", HelpName = string.Join('|', Backends.Names), DefaultValueFactory = _ => "auto" };
    private readonly Option<int> _batchSize = new("--batch-size") { Description = "Images synthesized at once.", HelpName = "B", DefaultValueFactory = _ => 8 };
    private readonly Option<string> _out = new("--out") { Description = "Output folder: images.npy (raw float32 [N, C, H, W]), one PNG per image and grid.png.", Required = true, HelpName = "DIR" };

    public static Command Create(TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        var options = new SynthesizeCommand();
        var command = new Command("synthesize", "Generate images from latents or seeds and write them as .npy and PNG.")
        {
            options._weights, options._latents, options._seeds, options._space, options._class, options._psi, options._cutoff,
            options._noise, options._noiseSeed, options._backend, options._batchSize, options._out,
        };
        command.SetAction(parsed =>
        {
            var request = options.Bind(parsed);
            using var progress = new ConsoleProgress(stderr, interactive);
            return SynthesizeRun.Execute(request, stdout, progress, cancellation);
        });
        return command;
    }

    private SynthesizeRequest Bind(ParseResult parsed)
    {
        string weights = parsed.GetValue(_weights)!;
        string? latents = parsed.GetValue(_latents);
        string? seedText = parsed.GetValue(_seeds);
        if ((latents is null) == (seedText is null))
            throw new UsageException("give either --latents L.npy or --seeds LIST (one of them, not both).");
        LatentSpace? space = parsed.GetValue(_space) switch
        {
            null => null,
            "z" => LatentSpace.Z,
            "w" => LatentSpace.W,
            var s => throw new UsageException($"--latent-space '{s}': choose z or w."),
        };
        if (seedText is not null && space == LatentSpace.W)
            throw new UsageException("--seeds draws z latents; for w latents give --latents L.npy.");

        float psi = parsed.GetValue(_psi);
        if (!float.IsFinite(psi)) throw new UsageException($"--truncation must be a finite number, got {psi}.");
        int? cutoff = parsed.GetValue(_cutoff);
        if (cutoff < 0) throw new UsageException($"--truncation-cutoff must be 0 or more, got {cutoff}.");
        int? classIndex = parsed.GetValue(_class);
        if (classIndex < 0) throw new UsageException($"--class must be 0 or more, got {classIndex}.");
        int batchSize = parsed.GetValue(_batchSize);
        if (batchSize < 1) throw new UsageException($"--batch-size must be at least 1, got {batchSize}.");

        NoiseMode noise = parsed.GetValue(_noise) switch
        {
            "const" => NoiseMode.Const,
            "random" => NoiseMode.Random,
            "none" => NoiseMode.None,
            var s => throw new UsageException($"--noise-mode '{s}': choose const, random or none."),
        };
        BackendKind backend;
        try { backend = Backends.Parse(parsed.GetValue(_backend)!); }
        catch (ArgumentException) { throw new UsageException($"--backend '{parsed.GetValue(_backend)}': choose one of {string.Join(", ", Backends.Names)}."); }

        var seeds = seedText is null ? null : SeedList.Parse(seedText);

        RequireFile("--weights", weights);
        if (latents is not null) RequireFile("--latents", latents);
        return new SynthesizeRequest(weights, latents, seeds, space, classIndex,
            psi, cutoff, noise, parsed.GetValue(_noiseSeed), backend, batchSize, parsed.GetValue(_out)!);
    }

    private static void RequireFile(string option, string path)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} '{path}' is a folder, not a file.");
        if (!File.Exists(path)) throw new UsageException($"{option} '{path}': no such file.");
    }
}
