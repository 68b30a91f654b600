using System.CommandLine;
using System.Globalization;
using GrpcExplain.Classifiers;
using GrpcExplain.Kernels;
using DirectionMethod = GrpcExplain.Explain.DirectionMethod;

namespace GrpcExplain.Cli.Explain;

/// <summary>
/// <c>grpcexplain explain IMAGE</c>: the options, and their translation into <see cref="ExplainSettings"/>.
/// In process (the default) the method runs here on the bundled model pairing of the named classifier;
/// with --coordinator it asks an ExplainerService. Either way the same files are written.
/// </summary>
internal sealed class ExplainCommand
{
    private readonly Argument<string> _image = new("IMAGE") { Description = "The image to explain: a PNG or JPEG of the generator's size." };
    private readonly Option<string> _coordinator = new("--coordinator") { Description = "Ask this ExplainerService (http://host:port) instead of running in process on the bundled models.", HelpName = "ADDR" };
    private readonly Option<string> _classifier = new("--classifier") { Description = "The classifier whose prediction is explained: MODEL, or PAIRING/MODEL when several bundled pairings have one of that name.", Required = true, HelpName = "MODEL" };
    private readonly Option<string> _target = new("--target") { Description = "The class the walk moves towards: its index, or (in process) its label.", Required = true, HelpName = "CLASS" };
    private readonly Option<int> _frames = new("--frames") { Description = "Frames along the walk, at most (it stops early when --stop-at is reached).", HelpName = "K", DefaultValueFactory = _ => ExplainSettings.DefaultFrames };
    private readonly Option<string> _out = new("--out") { Description = "Output folder: frames/NNN.png, strip.png, walk.gif, probability.png, heatmap.png, summary.json.", Required = true, HelpName = "DIR" };
    private readonly Option<int?> _steps = new("--projection-steps") { Description = $"Projection steps that find the image's latent (more: a closer reconstruction, slower). Default in process: {InProcessGenerator.EncoderStartSteps} when the generator has an encoder (encoder.safetensors), else {InProcessGenerator.WAvgStartSteps}; with --coordinator {ExplainSettings.DefaultProjectionSteps}.", HelpName = "N" };
    private readonly Option<string> _space = new("--latent-space") { Description = "Project into W (one w for every layer) or W+ (one per layer).", HelpName = "w|w+", DefaultValueFactory = _ => "w" };
    private readonly Option<string> _method = new("--direction") { Description = "How the direction is found: the paper's linear probe (fitted once and stored), the gradient of the target logit " +
        "(white-box classifiers only: those with reference.safetensors), or that gradient estimated from classifier calls.", HelpName = "linear-probe|gradient|black-box", DefaultValueFactory = _ => "linear-probe" };
    private readonly Option<float?> _maxAlpha = new("--max-alpha") { Description = $"How far the walk may go along the unit direction. Default: {ExplainSettings.SpreadsWalked} spreads of the generator's latents along it (with --coordinator: {ExplainSettings.CoordinatorMaxAlpha}).", HelpName = "A" };
    private readonly Option<string> _stopAt = new("--stop-at") { Description = "Stop at the first frame whose target probability reaches P; 'none' walks every frame.", HelpName = "P|none", DefaultValueFactory = _ => ExplainSettings.DefaultStopAt.ToString(CultureInfo.InvariantCulture) };
    private readonly Option<string> _models = new("--models") { Description = "The bundled models folder (default: models/ beside the executable or in the repository root).", HelpName = "DIR" };
    private readonly Option<string> _backend = new("--backend") { Description = "Where the generator's kernels run in process; auto is cuda when an NVIDIA GPU is present, else cpu.", HelpName = string.Join('|', Backends.Names), DefaultValueFactory = _ => "auto" };
    private readonly Option<int> _probeSamples = new("--probe-samples") { Description = "Latents sampled to fit a linear probe in process, when none is stored yet.", HelpName = "N", DefaultValueFactory = _ => ExplainSettings.DefaultProbeSamples };
    private readonly Option<string> _fit = new("--fit") { Description = "How an IMAGE of another size reaches the generator's: its central square resized, or its central pixels unresampled. " +
        "Default: as the classifier was trained (the fit in its classifier.json).", HelpName = "resize|crop" };
    private readonly Option<string> _directions = new("--directions") { Description = "The SQLite file of fitted directions in process (default: grpcexplain/directions.db in the user's local data folder).", HelpName = "FILE" };

    public static Command Create(TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        var options = new ExplainCommand();
        var command = new Command("explain", "Explain a classifier's prediction on an image: project it into the generator's latent space, walk along the direction " +
            "that moves the classifier towards the target class, and write the frames with their probabilities, a strip, a GIF, a plot, a heat map and summary.json.")
        {
            options._image, options._coordinator, options._classifier, options._target, options._frames, options._out, options._steps, options._space,
            options._method, options._maxAlpha, options._stopAt, options._models, options._backend, options._probeSamples, options._directions, options._fit,
        };
        command.SetAction(parsed =>
        {
            var settings = options.Bind(parsed);
            using var progress = new ConsoleProgress(stderr, interactive);
            return ExplainRun.ExecuteAsync(settings, stdout, stderr, progress, cancellation).GetAwaiter().GetResult();
        });
        return command;
    }

    private ExplainSettings Bind(ParseResult parsed)
    {
        string image = parsed.GetValue(_image)!;
        if (Directory.Exists(image)) throw new UsageException($"IMAGE '{image}' is a folder, not a file.");
        if (!File.Exists(image)) throw new UsageException($"IMAGE '{image}': no such file.");
        string output = parsed.GetValue(_out)!;
        if (File.Exists(output)) throw new UsageException($"--out '{output}' is a file; name a folder (it is created when missing).");

        int frames = parsed.GetValue(_frames);
        if (frames < 2 || frames > ExplainSettings.MaxFrames) throw new UsageException($"--frames must be from 2 to {ExplainSettings.MaxFrames}, got {frames}.");
        int steps = parsed.GetValue(_steps) ?? 0;
        if (parsed.GetValue(_steps) is not null && steps < 1 || steps > ExplainSettings.MaxProjectionSteps) throw new UsageException($"--projection-steps must be from 1 to {ExplainSettings.MaxProjectionSteps}, got {steps}.");
        bool wPlus = parsed.GetValue(_space) switch
        {
            "w" or "W" => false,
            "w+" or "W+" => true,
            var s => throw new UsageException($"--latent-space '{s}': choose w or w+."),
        };
        var method = parsed.GetValue(_method) switch
        {
            "linear-probe" => DirectionMethod.LinearProbe,
            "gradient" => DirectionMethod.Gradient,
            "black-box" => DirectionMethod.BlackBoxGradientEstimate,
            var s => throw new UsageException($"--direction '{s}': choose linear-probe, gradient or black-box."),
        };
        float? maxAlpha = parsed.GetValue(_maxAlpha);
        if (maxAlpha is { } a && !(a > 0 && float.IsFinite(a))) throw new UsageException($"--max-alpha must be a positive number, got {a}.");
        string stopText = parsed.GetValue(_stopAt)!;
        float? stopAt = stopText == "none" ? null
            : float.TryParse(stopText, NumberStyles.Float, CultureInfo.InvariantCulture, out float p) && p > 0 && p <= 1 ? p
            : throw new UsageException($"--stop-at '{stopText}': give a probability above 0 and at most 1, or none.");
        string target = parsed.GetValue(_target)!.Trim();
        if (target.Length == 0) throw new UsageException("--target is empty: give the class index or label.");
        if (int.TryParse(target, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index) && index < 0)
            throw new UsageException($"--target must be a class index of 0 or more, or a label; got {index}.");
        int probeSamples = parsed.GetValue(_probeSamples);
        if (probeSamples < 10) throw new UsageException($"--probe-samples must be at least 10, got {probeSamples}.");
        BackendKind backend;
        try { backend = Backends.Parse(parsed.GetValue(_backend)!); }
        catch (ArgumentException) { throw new UsageException($"--backend '{parsed.GetValue(_backend)}': choose one of {string.Join(", ", Backends.Names)}."); }

        Uri? coordinator = null;
        if (parsed.GetValue(_coordinator) is { } address)
        {
            coordinator = CoordinatorAddress(address);
            // Settings of the in-process run only: with a coordinator, its generator, store and probe settings rule.
            foreach (var option in new Option[] { _models, _backend, _probeSamples, _directions })
                if (parsed.GetResult(option) is { Implicit: false })
                    throw new UsageException($"{option.Name} applies to explanations in process; with --coordinator the coordinator's services choose it.");
            if (!int.TryParse(target, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                throw new UsageException($"--target '{target}': with --coordinator give the class index (labels are known only to the coordinator's classifier).");
        }
        ImageFit? fit = parsed.GetValue(_fit) switch
        {
            null => null,
            "resize" => ImageFit.Resize,
            "crop" => ImageFit.CenterCrop,
            var s => throw new UsageException($"--fit '{s}': choose resize or crop."),
        };
        string? models = parsed.GetValue(_models);
        if (models is not null && !Directory.Exists(models)) throw new UsageException($"--models '{models}': no such folder.");
        return new ExplainSettings(image, coordinator, parsed.GetValue(_classifier)!, target, frames, output, steps, wPlus, method, maxAlpha, stopAt,
            models, backend, probeSamples, parsed.GetValue(_directions) ?? ExplainSettings.DefaultDirectionsPath, fit);
    }

    /// <summary>http(s)://host:port, or host:port meaning plain HTTP/2.</summary>
    private static Uri CoordinatorAddress(string address)
    {
        string text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0)
            return uri;
        throw new UsageException($"--coordinator '{address}' is not an address: write http://host:port (or host:port).");
    }
}
