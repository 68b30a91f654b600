using System.CommandLine;
using System.Globalization;
using GrpcExplain.Classifiers;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Classifier;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Cli.Train;

/// <summary>
/// <c>grpcexplain train classifier</c>: the options, and their translation into a training config and run
/// options (<see cref="TrainClassifierRun"/> runs them). Every setting has a default; a run folder that
/// holds a checkpoint is resumed when the command line asks for the same config.
/// </summary>
internal sealed class TrainClassifierCommand
{
    private readonly Option<string> _data = new("--data") { Description = "Training images: a folder with train/CLASS/*.png|jpg and val/CLASS/..., or a MedMNIST .npz.", Required = true, HelpName = "PATH" };
    private readonly Option<string> _out = new("--out") { Description = "Model repository the best network is exported to, as REPO/NAME/1/model.onnx, classifier.json, reference.safetensors and metrics.json.", Required = true, HelpName = "REPO" };
    private readonly Option<string> _name = new("--name") { Description = "The model's name in the repository.", Required = true, HelpName = "NAME" };
    private readonly Option<string> _run = new("--run") { Description = "Run folder: checkpoint.safetensors, state.json, log.jsonl, cache/ (default runs/classifiers/NAME). A run already there is resumed.", HelpName = "RUN" };
    private readonly Option<int> _resolution = new("--resolution") { Description = "Image size the network takes.", HelpName = "R", DefaultValueFactory = _ => 64 };
    private readonly Option<int?> _channels = new("--channels") { Description = "1 (grey) or 3 (RGB); default: grey when the first train image is.", HelpName = "1|3" };
    private readonly Option<string> _fit = new("--fit") { Description = "How images reach the resolution: the central pixels unresampled (center_crop, e.g. PatchCamelyon 96 -> 64) or the central square resized (resize).", HelpName = "center_crop|resize", DefaultValueFactory = _ => "resize" };
    private readonly Option<string> _labels = new("--labels") { Description = "Classes: one per class folder (folders), or Kellgren-Lawrence folders 0..4 as KL >= 2 against KL <= 1 (binary-kl2).", HelpName = "folders|binary-kl2", DefaultValueFactory = _ => "folders" };
    private readonly Option<string> _classNames = new("--class-names") { Description = "Names of the classes in class order, comma-separated (default: the folder names; KL0-1,KL2-4 for binary-kl2).", HelpName = "A,B" };
    private readonly Option<string> _augment = new("--augment") { Description = "Training augmentation: flips and quarter turns (dihedral), x-flips and small shifts (flip-translate) or none; default dihedral for RGB, flip-translate for grey.", HelpName = "dihedral|flip-translate|none" };
    private readonly Option<string> _network = new("--network-channels") { Description = "Widths of the 3x3 convolutions, each but the last followed by 2x2 pooling.", HelpName = "C1,C2,...", DefaultValueFactory = _ => "32,64,128,128" };
    private readonly Option<int> _epochs = new("--epochs") { Description = "Train until this many epochs are done (in total over resumed sessions).", HelpName = "N", DefaultValueFactory = _ => 10 };
    private readonly Option<int> _batch = new("--batch") { Description = "Minibatch size.", HelpName = "B", DefaultValueFactory = _ => 64 };
    private readonly Option<double> _lr = new("--lr") { Description = "Adam's learning rate at the start (cosine to 5% of it by the last epoch).", HelpName = "LR", DefaultValueFactory = _ => 1e-2 };
    private readonly Option<int> _seed = new("--seed") { Description = "Seed of the initial weights, the minibatch order and the augmentation.", HelpName = "S", DefaultValueFactory = _ => 0 };
    private readonly Option<string> _backend = new("--backend") { Description = "Where the kernels run; auto is cuda when an NVIDIA GPU is present, else cpu.", HelpName = string.Join('|', Backends.Names), DefaultValueFactory = _ => "auto" };
    private readonly Option<string> _cache = new("--cache") { Description = "Folder for the decoded data (default RUN/cache).", HelpName = "DIR" };

    public static Command Create(TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        var options = new TrainClassifierCommand();
        var command = new Command("classifier", "Train the reference CNN classifier on a folder of images or a MedMNIST .npz and export it to a model repository; resumable from its run folder.")
        {
            options._data, options._out, options._name, options._run, options._resolution, options._channels, options._fit, options._labels,
            options._classNames, options._augment, options._network, options._epochs, options._batch, options._lr, options._seed, options._backend, options._cache,
        };
        command.SetAction(parsed =>
        {
            var (config, run, backend) = options.Bind(parsed);
            using var progress = new ConsoleProgress(stderr, interactive);
            return TrainClassifierRun.Execute(config, run, backend, stdout, stderr, progress, cancellation);
        });
        return command;
    }

    private (ClassifierTrainingConfig Config, ClassifierRunOptions Run, BackendKind Backend) Bind(ParseResult parsed)
    {
        string data = parsed.GetValue(_data)!;
        if (!File.Exists(data) && !Directory.Exists(data)) throw new UsageException($"--data '{data}': no such folder or .npz file.");
        string name = parsed.GetValue(_name)!;
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..")
            throw new UsageException($"--name '{name}': one folder name, no slashes.");
        string repository = parsed.GetValue(_out)!;
        if (File.Exists(repository)) throw new UsageException($"--out '{repository}' is a file; name a model repository folder (it is created when missing).");

        ImageFit fit = parsed.GetValue(_fit) switch
        {
            "center_crop" => ImageFit.CenterCrop,
            "resize" => ImageFit.Resize,
            var s => throw new UsageException($"--fit '{s}': choose center_crop or resize."),
        };
        ClassifierLabels labels = parsed.GetValue(_labels) switch
        {
            "folders" => ClassifierLabels.Folders,
            "binary-kl2" => ClassifierLabels.BinaryKl2,
            var s => throw new UsageException($"--labels '{s}': choose folders or binary-kl2."),
        };
        int channels = parsed.GetValue(_channels) ?? DetectChannels(data);
        if (channels is not (1 or 3)) throw new UsageException($"--channels must be 1 (grey) or 3 (RGB), got {channels}.");
        ClassifierAugmentation augment = parsed.GetValue(_augment) switch
        {
            null => channels == 3 ? ClassifierAugmentation.Dihedral : ClassifierAugmentation.FlipTranslate,
            "dihedral" => ClassifierAugmentation.Dihedral,
            "flip-translate" => ClassifierAugmentation.FlipTranslate,
            "none" => ClassifierAugmentation.None,
            var s => throw new UsageException($"--augment '{s}': choose dihedral, flip-translate or none."),
        };
        int[] network = NetworkOptions.Channels(parsed.GetValue(_network)!, "32,64,128,128");
        var backend = NetworkOptions.Backend(parsed.GetValue(_backend)!);

        var config = new ClassifierTrainingConfig
        {
            Data = Path.GetFullPath(data), Resolution = parsed.GetValue(_resolution), Channels = channels, Fit = fit, Labels = labels,
            ClassNames = parsed.GetValue(_classNames) is { } names ? [.. names.Split(',').Select(n => n.Trim())] : null,
            NetworkChannels = network, Augment = augment, Batch = parsed.GetValue(_batch), LearningRate = parsed.GetValue(_lr), Seed = parsed.GetValue(_seed),
        };
        var run = new ClassifierRunOptions
        {
            RunDirectory = parsed.GetValue(_run) ?? Path.Combine("runs", "classifiers", name),
            Epochs = parsed.GetValue(_epochs), Repository = repository, Name = name, CacheDirectory = parsed.GetValue(_cache),
        };
        try
        {
            config.Validate();
            run.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return (config, run, backend);
    }

    private static int DetectChannels(string data)
    {
        try
        {
            return GanData.DetectChannels(data);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new UsageException($"--data '{data}': {e.Message}");
        }
    }
}
