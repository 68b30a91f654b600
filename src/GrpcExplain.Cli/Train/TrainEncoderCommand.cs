using System.CommandLine;
using System.Globalization;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Data;
using GrpcExplain.Training.Encoder;

namespace GrpcExplain.Cli.Train;

/// <summary>
/// <c>grpcexplain train encoder</c>: the options of an encoder run, checked (<see cref="TrainEncoderRun"/> runs it).
/// Short enough (15 minutes by default on a 2-core CPU) that it is not resumed: it starts again.
/// </summary>
internal sealed class TrainEncoderCommand
{
    private readonly Option<string> _weights = new("--weights") { Description = "The generator whose latent space the encoder learns (G.safetensors).", Required = true, HelpName = "G.safetensors" };
    private readonly Option<string> _out = new("--out") { Description = "The encoder's weights file; put it beside the generator as encoder.safetensors so projection finds it. A JSON report is written beside it (NAME.json), and a MODEL_CARD.md there gains an Encoder section.", Required = true, HelpName = "E.safetensors" };
    private readonly Option<int> _samples = new("--samples") { Description = "Generated samples to learn from (fresh ones, no data needed).", HelpName = "N", DefaultValueFactory = _ => 60_000 };
    private readonly Option<double> _minutes = new("--minutes") { Description = "Stop after this many minutes even when samples remain.", HelpName = "M", DefaultValueFactory = _ => 15 };
    private readonly Option<int> _batch = new("--batch") { Description = "Minibatch size.", HelpName = "B", DefaultValueFactory = _ => 16 };
    private readonly Option<double> _lr = new("--lr") { Description = "Adam's learning rate at the start (cosine to 5% of it).", HelpName = "LR", DefaultValueFactory = _ => 5e-3 };
    private readonly Option<string> _network = new("--network-channels") { Description = "Widths of the 3x3 convolutions, each but the last followed by 2x2 pooling.", HelpName = "C1,C2,...", DefaultValueFactory = _ => "32,64,128,128,256" };
    private readonly Option<double> _pixel = new("--pixel-weight") { Description = "Also train on the pixel error of G(E(x)) against x, through synthesis, with this weight (0: w error alone).", HelpName = "P", DefaultValueFactory = _ => 20 };
    private readonly Option<int> _seed = new("--seed") { Description = "Seed of the initial weights and the generated samples.", HelpName = "S", DefaultValueFactory = _ => 0 };
    private readonly Option<string> _real = new("--real-data") { Description = "Also report reconstructions of real images: a folder with val/CLASS/images (or train/) or a MedMNIST .npz.", HelpName = "PATH" };
    private readonly Option<string> _fit = new("--fit") { Description = "How --real-data images reach the generator's size, as its training data did.", HelpName = "crop|resize", DefaultValueFactory = _ => "resize" };
    private readonly Option<int> _realCount = new("--real-images") { Description = "Real images to report on.", HelpName = "N", DefaultValueFactory = _ => 64 };
    private readonly Option<string> _backend = new("--backend") { Description = "Where the kernels run; auto is cuda when an NVIDIA GPU is present, else cpu.", HelpName = string.Join('|', Backends.Names), DefaultValueFactory = _ => "auto" };

    public static Command Create(TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        var o = new TrainEncoderCommand();
        var command = new Command("encoder", "Train an encoder (image to w) on a generator's own samples: it warm-starts projection, which then needs far fewer steps.")
        {
            o._weights, o._out, o._samples, o._minutes, o._batch, o._lr, o._network, o._pixel, o._seed, o._real, o._fit, o._realCount, o._backend,
        };
        command.SetAction(parsed =>
        {
            var request = o.Bind(parsed);
            using var progress = new ConsoleProgress(stderr, interactive);
            return TrainEncoderRun.Execute(request, stdout, progress, cancellation);
        });
        return command;
    }

    private TrainEncoderRequest Bind(ParseResult parsed)
    {
        string weights = parsed.GetValue(_weights)!;
        if (!File.Exists(weights)) throw new UsageException($"--weights '{weights}': no such file.");
        string output = parsed.GetValue(_out)!;
        if (Directory.Exists(output)) throw new UsageException($"--out '{output}' is a folder; name the encoder's file (models/X/encoder.safetensors).");
        string? folder = Path.GetDirectoryName(Path.GetFullPath(output));
        if (folder is null || !Directory.Exists(folder)) throw new UsageException($"--out '{output}': the folder {folder} does not exist.");
        string? real = parsed.GetValue(_real);
        if (real is not null && !File.Exists(real) && !Directory.Exists(real)) throw new UsageException($"--real-data '{real}': no such folder or .npz file.");
        CropMode fit = parsed.GetValue(_fit) switch
        {
            "crop" or "center_crop" => CropMode.CenterCrop,
            "resize" => CropMode.Resize,
            var s => throw new UsageException($"--fit '{s}': choose crop or resize."),
        };
        int[] network = NetworkOptions.Channels(parsed.GetValue(_network)!, "32,64,128,128,256");
        var backend = NetworkOptions.Backend(parsed.GetValue(_backend)!);
        var options = new EncoderTrainingOptions(parsed.GetValue(_samples), parsed.GetValue(_minutes), parsed.GetValue(_batch), parsed.GetValue(_lr), parsed.GetValue(_seed), network, PixelWeight: parsed.GetValue(_pixel));
        if (options.Problem() is { } problem) throw new UsageException(problem);
        int realCount = parsed.GetValue(_realCount);
        if (realCount < 1) throw new UsageException($"--real-images must be at least 1, got {realCount}.");
        return new TrainEncoderRequest(weights, output, options, real, fit, realCount, backend);
    }
}

/// <summary>A checked <c>train encoder</c> command line.</summary>
internal sealed record TrainEncoderRequest(string Weights, string Output, EncoderTrainingOptions Options, string? RealData, CropMode Fit, int RealImages,
    BackendKind Backend)
{
    /// <summary>The command that reproduces this run, for the model card.</summary>
    public string CommandLine => string.Create(CultureInfo.InvariantCulture,
        $"grpcexplain train encoder --weights {Weights} --out {Output} --samples {Options.Samples} --minutes {Options.Minutes} --batch {Options.Batch} " +
        $"--lr {Options.LearningRate} --network-channels {string.Join(",", Options.Channels ?? [])} --pixel-weight {Options.PixelWeight} --seed {Options.Seed}") +
        (RealData is null ? "" : $" --real-data {RealData} --fit {(Fit == CropMode.CenterCrop ? "crop" : "resize")} --real-images {RealImages}");
}
