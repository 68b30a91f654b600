using System.CommandLine;
using GrpcExplain.Classifier;
using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Coordinator;
using GrpcExplain.Generator;
using GrpcExplain.Kernels;

namespace GrpcExplain.Cli.Serve;

/// <summary>A service's own options, and their translation into its host's <see cref="ServiceDefinition"/>.</summary>
internal interface IServiceOptions
{
    IEnumerable<Option> All { get; }

    ServiceDefinition Bind(ParseResult parsed, ServeSettings settings);
}

/// <summary>The generator's options (<see cref="GeneratorServiceOptions"/>), checked into its host's <see cref="ServiceDefinition"/>.</summary>
internal sealed class GeneratorServeOptions : IServiceOptions
{
    private static readonly GeneratorServiceOptions Defaults = new();

    private readonly Option<string> _weights = new("--weights") { Description = "Generator weights (safetensors with stylegan2-ada-pytorch names).", Required = true, HelpName = "F.safetensors" };
    private readonly Option<string> _backend = new("--backend") { Description = "Where the kernels run; auto is cuda when an NVIDIA GPU is present, else cpu.", HelpName = string.Join('|', Backends.Names), DefaultValueFactory = _ => Defaults.Backend };
    private readonly Option<int> _maxBatch = new("--max-batch-size") { Description = "Most samples one request may carry.", HelpName = "N", DefaultValueFactory = _ => Defaults.MaxBatchSize };
    private readonly Option<int> _computeBatch = new("--compute-batch-size") { Description = "Samples computed at once; a call is cancelled between such slices.", HelpName = "N", DefaultValueFactory = _ => Defaults.ComputeBatchSize };

    public IEnumerable<Option> All => [_weights, _backend, _maxBatch, _computeBatch];

    public ServiceDefinition Bind(ParseResult parsed, ServeSettings settings)
    {
        string weights = parsed.GetValue(_weights)!;
        ServeOptions.RequireFile("--weights", weights);
        string backend = parsed.GetValue(_backend)!;
        if (!Backends.Names.Contains(backend)) throw new UsageException($"--backend '{backend}': choose one of {string.Join(", ", Backends.Names)}.");
        int maxBatch = AtLeastOne(parsed, _maxBatch), computeBatch = AtLeastOne(parsed, _computeBatch);
        return new("generator", services => services.AddGeneratorService(o =>
        {
            o.WeightsPath = weights;
            o.Backend = backend;
            o.MaxBatchSize = maxBatch;
            o.ComputeBatchSize = computeBatch;
            o.MaxMessageSizeBytes = settings.MaxMessageBytes;
        }), endpoints => endpoints.MapGeneratorService());
    }

    private static int AtLeastOne(ParseResult parsed, Option<int> option)
    {
        int value = parsed.GetValue(option);
        return value >= 1 ? value : throw new UsageException($"{option.Name} must be at least 1, got {value}.");
    }
}

/// <summary>The classifier's options (<see cref="ClassifierServiceOptions"/>), checked into its host's <see cref="ServiceDefinition"/>.</summary>
internal sealed class ClassifierServeOptions : IServiceOptions
{
    private static readonly string[] Providers = [.. Enum.GetNames<ExecutionProvider>().Select(n => n.ToLowerInvariant())];

    private readonly Option<string> _repository = new("--model-repository") { Description = "Model repository (Triton's layout): DIR/MODEL/VERSION/model.onnx with DIR/MODEL/classifier.json.", Required = true, HelpName = "DIR" };
    private readonly Option<string[]> _models = new("--model") { Description = "Serve only this model (repeat for several); every model in the repository by default.", HelpName = "NAME" };
    private readonly Option<string> _provider = new("--execution-provider") { Description = "Where ONNX Runtime runs the models; auto is CUDA where available, else CPU.", HelpName = string.Join('|', Providers), DefaultValueFactory = _ => "auto" };
    private readonly Option<int> _threads = new("--intra-op-threads") { Description = "Threads of one model run (0: ONNX Runtime chooses).", HelpName = "N" };

    public IEnumerable<Option> All => [_repository, _models, _provider, _threads];

    /// <summary>The model repository, whose classifier.json files serve all's coordinator reads too.</summary>
    public string Repository(ParseResult parsed) => parsed.GetValue(_repository)!;

    public ServiceDefinition Bind(ParseResult parsed, ServeSettings settings)
    {
        string repository = Repository(parsed);
        ServeOptions.RequireFolder("--model-repository", repository);
        string[] models = parsed.GetValue(_models) ?? [];
        string provider = parsed.GetValue(_provider)!;
        if (!Providers.Contains(provider)) throw new UsageException($"--execution-provider '{provider}': choose one of {string.Join(", ", Providers)}.");
        int threads = parsed.GetValue(_threads);
        if (threads < 0) throw new UsageException($"--intra-op-threads must be 0 or more, got {threads}.");
        return new("classifier", services => services.AddClassifierService(o =>
        {
            o.ModelRepository = repository;
            foreach (string model in models) o.Models.Add(model);
            o.ExecutionProvider = Enum.Parse<ExecutionProvider>(provider, ignoreCase: true);
            o.IntraOpThreads = threads;
            o.MaxMessageSizeBytes = settings.MaxMessageBytes;
        }), endpoints => endpoints.MapClassifierService());
    }
}

/// <summary>
/// The coordinator's options (<see cref="CoordinatorServiceOptions"/>): where it finds the generator,
/// the classifier server and each classifier's classifier.json, and where it keeps fitted directions.
/// </summary>
internal sealed class CoordinatorServeOptions : IServiceOptions
{
    private readonly Option<string> _generator = new("--generator") { Description = "The generator service: host:port, http://host:port or https://host:port.", Required = true, HelpName = "ADDR" };
    private readonly Option<string> _classifier = new("--classifier") { Description = "An Open Inference Protocol server (ours, Triton, KServe): host:port or a URL.", Required = true, HelpName = "ADDR" };
    private readonly Option<string> _configs = new("--classifier-configs") { Description = "Folder with MODEL/classifier.json for each classifier (for our classifier service: its model repository).", Required = true, HelpName = "DIR" };
    private readonly Option<string> _directions = Directions();

    public IEnumerable<Option> All => [_generator, _classifier, _configs, _directions];

    /// <summary>The SQLite file of fitted directions (serve all has it too).</summary>
    public static Option<string> Directions() =>
        new("--directions") { Description = "SQLite file where fitted directions are kept (created when missing).", HelpName = "F.db", DefaultValueFactory = _ => new CoordinatorServiceOptions().DirectionDatabasePath };

    public ServiceDefinition Bind(ParseResult parsed, ServeSettings settings)
    {
        string configs = parsed.GetValue(_configs)!;
        ServeOptions.RequireFolder("--classifier-configs", configs);
        return Definition(Address(parsed, _generator), Address(parsed, _classifier), configs, DirectionsPath(parsed, _directions), settings);
    }

    public static string DirectionsPath(ParseResult parsed, Option<string> option)
    {
        string path = parsed.GetValue(option)!;
        if (Directory.Exists(path)) throw new UsageException($"{option.Name} '{path}' is a folder; give the database file (created when missing).");
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        return folder is null || Directory.Exists(folder) ? path : throw new UsageException($"{option.Name} '{path}': no folder '{folder}' to create it in.");
    }

    public static ServiceDefinition Definition(Uri generator, Uri classifier, string classifierConfigs, string directions, ServeSettings settings) =>
        new("coordinator", services => services.AddCoordinatorService(o =>
        {
            o.GeneratorAddress = generator.ToString();
            o.ClassifierAddress = classifier.ToString();
            o.ClassifierConfigRepository = classifierConfigs;
            o.DirectionDatabasePath = directions;
            o.MaxMessageSizeBytes = settings.MaxMessageBytes;
        }), endpoints => endpoints.MapCoordinatorService());

    private static Uri Address(ParseResult parsed, Option<string> option)
    {
        string text = parsed.GetValue(option)!;
        bool url = text.Contains("://", StringComparison.Ordinal);
        // host:port must name its port; a URL may leave it to the scheme's default.
        return Uri.TryCreate(url ? text : "http://" + text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.Host.Length > 0 && uri.AbsolutePath == "/" && (url || text.EndsWith($":{uri.Port}", StringComparison.Ordinal))
            ? uri
            : throw new UsageException($"{option.Name} '{text}': give host:port (plain HTTP/2) or http://host:port, https://host:port.");
    }
}
