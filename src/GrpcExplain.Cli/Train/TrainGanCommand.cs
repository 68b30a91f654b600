using System.CommandLine;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Data;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Cli.Train;

/// <summary>
/// <c>grpcexplain train gan</c>: the options, and their translation into a <see cref="TrainGanRequest"/>.
/// The settings that fix what the run computes (<see cref="GanConfig"/>) have no defaults here: left out,
/// they take the checkpoint's values when RUN/ holds one, and the defaults otherwise; given, they must
/// agree with the checkpoint's.
/// </summary>
internal sealed class TrainGanCommand
{
    private readonly Option<string> _data = new("--data") { Description = "Training images: a folder with train/CLASS/*.png|jpg (and val/ for FID's floor), or a MedMNIST .npz. Required for a new run.", HelpName = "PATH" };
    private readonly Option<string> _out = new("--out") { Description = "Run folder: checkpoint.safetensors, state.json, generator.safetensors, samples/, log.jsonl, fid.jsonl, training.png, metrics.json. A run already there is resumed.", Required = true, HelpName = "RUN" };
    private readonly Option<int?> _resolution = new("--resolution") { Description = "Image size (a power of two; default 64).", HelpName = "R" };
    private readonly Option<int?> _channels = new("--channels") { Description = "1 (grey) or 3 (RGB); default: grey when the first train image is.", HelpName = "1|3" };
    private readonly Option<string> _fit = new("--fit") { Description = "How images reach the resolution: the central crop (no resampling) or the central square resized (default).", HelpName = "crop|resize" };
    private readonly Option<double?> _kimg = new("--kimg") { Description = $"Train until this many thousand real images have been shown (in total; default {TrainGanRequest.DefaultKimg}).", HelpName = "N" };
    private readonly Option<int?> _batch = new("--batch") { Description = "Minibatch size (default 16).", HelpName = "B" };
    private readonly Option<int?> _channelBase = new("--channel-base") { Description = "Channels at resolution r: min(channel_base / r, channel_max) (default 4096).", HelpName = "N" };
    private readonly Option<int?> _channelMax = new("--channel-max") { Description = "At most this many channels per layer (default 256).", HelpName = "N" };
    private readonly Option<int?> _zDim = new("--z-dim") { Description = "Width of z (default 256).", HelpName = "N" };
    private readonly Option<int?> _wDim = new("--w-dim") { Description = "Width of w (default 256).", HelpName = "N" };
    private readonly Option<int?> _mappingLayers = new("--mapping-layers") { Description = "Mapping network depth, 1 to 8 (default 8).", HelpName = "N" };
    private readonly Option<double?> _gamma = new("--gamma") { Description = "R1 weight (default stylegan2-ada's heuristic 0.0002·resolution²/batch).", HelpName = "G" };
    private readonly Option<bool> _noAda = new("--no-ada") { Description = "No adaptive discriminator augmentation." };
    private readonly Option<double?> _adaKimg = new("--ada-kimg") { Description = "Thousands of images over which ADA's p may go from 0 to 1 (default 100; NVIDIA's 500 suits runs of thousands of kimg).", HelpName = "N" };
    private readonly Option<double?> _snapshotKimg = new("--snapshot-kimg") { Description = "Checkpoint, generator.safetensors and a sample grid every N kimg (default 2).", HelpName = "N" };
    private readonly Option<int?> _seed = new("--seed") { Description = "Seed of every random draw of the run (default 0).", HelpName = "S" };
    private readonly Option<string> _backend = new("--backend") { Description = "Where the kernels run; auto is cuda when an NVIDIA GPU is present, else cpu.", HelpName = string.Join('|', Backends.Names), DefaultValueFactory = _ => "auto" };
    private readonly Option<bool> _resume = new("--resume") { Description = "Continue the run in RUN (an error if it holds no checkpoint); without it a checkpoint there is resumed too, and said so." };
    private readonly Option<int?> _fidImages = new("--fid-images") { Description = $"G_ema images for each FID-ResNet18 (default {TrainGanRequest.DefaultFidImages}; 0 skips them).", HelpName = "N" };
    private readonly Option<double?> _fidKimg = new("--fid-kimg") { Description = "FID-ResNet18 also every N kimg while training, into RUN/fid.jsonl and RUN/training.png (default: only at the end).", HelpName = "N" };
    private readonly Option<string> _warmStart = new("--warm-start") { Description = "Start a new run's G and G_ema from this trained generator.safetensors (same architecture) instead of random weights; D starts fresh (fine-tuning on new data; to continue a run, resume its checkpoint instead).", HelpName = "FILE" };
    private readonly Option<double?> _dWarmupKimg = new("--d-warmup-kimg") { Description = "Train only D for the first N kimg, so a fresh D learns a warm-started G before it moves G (default 0).", HelpName = "N" };
    private readonly Option<double?> _gLrRampupKimg = new("--g-lr-rampup-kimg") { Description = "After D's warm-up, G's learning rate rises linearly from 0 over N kimg, giving D time to follow G (default 0).", HelpName = "N" };
    private readonly Option<string> _cache = new("--cache") { Description = "Folder for the decoded data and the reals' FID statistics (default RUN/cache).", HelpName = "DIR" };

    public static Command Create(TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        var options = new TrainGanCommand();
        var command = new Command("gan", "Train a StyleGAN2 (ADA, lazy R1, G_ema) on a folder of images or a MedMNIST .npz; resumable from RUN/.")
        {
            options._data, options._out, options._resolution, options._channels, options._fit, options._kimg, options._batch,
            options._channelBase, options._channelMax, options._zDim, options._wDim, options._mappingLayers, options._gamma, options._noAda,
            options._adaKimg, options._snapshotKimg, options._seed, options._backend, options._resume, options._fidImages, options._fidKimg, options._cache,
            options._warmStart, options._dWarmupKimg, options._gLrRampupKimg,
        };
        command.SetAction(parsed =>
        {
            var request = options.Bind(parsed);
            using var progress = new ConsoleProgress(stderr, interactive);
            return TrainGanRun.Execute(request, stdout, stderr, progress, cancellation);
        });
        return command;
    }

    private TrainGanRequest Bind(ParseResult parsed)
    {
        string output = parsed.GetValue(_out)!;
        if (File.Exists(output)) throw new UsageException($"--out '{output}' is a file; name a folder (it is created when missing).");
        string? data = parsed.GetValue(_data);
        if (data is not null)
        {
            if (!File.Exists(data) && !Directory.Exists(data)) throw new UsageException($"--data '{data}': no such folder or file.");
            if (File.Exists(data) && !data.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--data '{data}' is a file but not a .npz; give a folder with train/CLASS/images or a MedMNIST .npz.");
            data = Path.GetFullPath(data);
        }
        CropMode? fit = parsed.GetValue(_fit) switch
        {
            null => null,
            "crop" => CropMode.CenterCrop,
            "resize" => CropMode.Resize,
            var s => throw new UsageException($"--fit '{s}': choose crop or resize."),
        };
        int? channels = parsed.GetValue(_channels);
        if (channels is not (null or 1 or 3)) throw new UsageException($"--channels must be 1 (grey) or 3 (RGB), got {channels}.");
        int? resolution = parsed.GetValue(_resolution);
        if (resolution is { } r && (r < 8 || r > 1024 || (r & (r - 1)) != 0)) throw new UsageException($"--resolution must be a power of two from 8 to 1024, got {r}.");
        int? batch = Positive(parsed, _batch, "--batch", minimum: 2);
        int? mappingLayers = parsed.GetValue(_mappingLayers);
        if (mappingLayers is < 1 or > 8) throw new UsageException($"--mapping-layers must be 1 to 8, got {mappingLayers}.");
        double? gamma = parsed.GetValue(_gamma);
        if (gamma is { } g && (!(g >= 0) || !double.IsFinite(g))) throw new UsageException($"--gamma must be 0 or more, got {g}.");
        string? warmStart = parsed.GetValue(_warmStart);
        if (warmStart is not null)
        {
            if (!File.Exists(warmStart)) throw new UsageException($"--warm-start '{warmStart}': no such file (give a generator.safetensors).");
            warmStart = Path.GetFullPath(warmStart);
        }
        double? dWarmupKimg = NonNegative(parsed, _dWarmupKimg, "--d-warmup-kimg");
        double? gLrRampupKimg = NonNegative(parsed, _gLrRampupKimg, "--g-lr-rampup-kimg");
        int? fidImages = parsed.GetValue(_fidImages);
        if (fidImages is < 0 or 1) throw new UsageException($"--fid-images must be 0 (skip) or at least 2, got {fidImages}.");

        BackendKind backend;
        try { backend = Backends.Parse(parsed.GetValue(_backend)!); }
        catch (ArgumentException) { throw new UsageException($"--backend '{parsed.GetValue(_backend)}': choose one of {string.Join(", ", Backends.Names)}."); }

        return new TrainGanRequest
        {
            Data = data, RunDirectory = Path.GetFullPath(output), Resolution = resolution, Channels = channels, Fit = fit,
            Kimg = PositiveReal(parsed, _kimg, "--kimg"), Batch = batch,
            ChannelBase = Positive(parsed, _channelBase, "--channel-base"), ChannelMax = Positive(parsed, _channelMax, "--channel-max"),
            ZDim = Positive(parsed, _zDim, "--z-dim"), WDim = Positive(parsed, _wDim, "--w-dim"), MappingLayers = mappingLayers,
            Gamma = gamma, Ada = parsed.GetValue(_noAda) ? false : null, AdaKimg = PositiveReal(parsed, _adaKimg, "--ada-kimg"),
            SnapshotKimg = PositiveReal(parsed, _snapshotKimg, "--snapshot-kimg"), Seed = parsed.GetValue(_seed),
            Backend = backend, Resume = parsed.GetValue(_resume), FidImages = fidImages,
            FidKimg = PositiveReal(parsed, _fidKimg, "--fid-kimg"), CacheDirectory = parsed.GetValue(_cache),
            WarmStart = warmStart, DWarmupKimg = dWarmupKimg, GLrRampupKimg = gLrRampupKimg,
        };
    }

    private static int? Positive(ParseResult parsed, Option<int?> option, string name, int minimum = 1) =>
        parsed.GetValue(option) is { } v && v < minimum ? throw new UsageException($"{name} must be at least {minimum}, got {v}.") : parsed.GetValue(option);

    private static double? NonNegative(ParseResult parsed, Option<double?> option, string name) =>
        parsed.GetValue(option) is { } v && (!(v >= 0) || !double.IsFinite(v)) ? throw new UsageException($"{name} must be 0 or more, got {v}.") : parsed.GetValue(option);

    private static double? PositiveReal(ParseResult parsed, Option<double?> option, string name) =>
        parsed.GetValue(option) is { } v && (!(v > 0) || !double.IsFinite(v)) ? throw new UsageException($"{name} must be a positive number, got {v}.") : parsed.GetValue(option);
}
