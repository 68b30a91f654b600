using System.Globalization;
using GrpcExplain.Classifiers.Onnx;
using Microsoft.Extensions.Logging;

namespace GrpcExplain.Classifiers;

/// <summary>
/// Models laid out as Triton lays out a model repository: <c>REPO/MODEL/VERSION/model.onnx</c>, the
/// versions numbered folders from 1, and beside them our <c>REPO/MODEL/classifier.json</c> (optional
/// for serving: without it a model is served as ONNX declares it, with the default batch limit; an
/// <see cref="OnnxClassifier"/> needs it). Triton's own <c>config.pbtxt</c> may sit there too and is
/// ignored. A model that fails to load is left out and its reason kept, so one bad model does not
/// take the others down.
/// </summary>
public sealed partial class ModelRepository : IDisposable
{
    private readonly Dictionary<string, RepositoryModel> _models;

    private ModelRepository(string root, Dictionary<string, RepositoryModel> models, Dictionary<string, string> failures)
    {
        Root = root;
        _models = models;
        Failures = failures;
    }

    public string Root { get; }

    /// <summary>The models that loaded, by name.</summary>
    public IReadOnlyDictionary<string, RepositoryModel> Models => _models;

    /// <summary>Model folders that did not load, with the reason.</summary>
    public IReadOnlyDictionary<string, string> Failures { get; }

    /// <summary>Loads every model (or only <paramref name="only"/>) under <paramref name="root"/>.</summary>
    public static ModelRepository Load(string root, OnnxOptions options, ILogger logger, IReadOnlyCollection<string>? only = null, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The model repository '{root}' does not exist.");
        }
        var models = new Dictionary<string, RepositoryModel>(StringComparer.Ordinal);
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string folder in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = Path.GetFileName(folder);
            if (only is not null && !only.Contains(name))
            {
                continue;
            }
            try
            {
                var model = RepositoryModel.Load(name, folder, options, logger);
                models[name] = model;
                LogLoaded(logger, name, model.Versions.Keys, model.ExecutionProvider);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                failures[name] = e.Message;
                LogFailed(logger, name, e.Message);
            }
        }
        foreach (string missing in only?.Where(m => !models.ContainsKey(m) && !failures.ContainsKey(m)) ?? [])
        {
            failures[missing] = $"no folder '{missing}' in the model repository";
            LogFailed(logger, missing, failures[missing]);
        }
        return new ModelRepository(root, models, failures);
    }

    /// <summary>
    /// The model and version a request names; an empty version means the highest. Throws
    /// <see cref="ModelNotFoundException"/> saying what exists.
    /// </summary>
    public (RepositoryModel Model, long Version, OnnxModel Onnx) Resolve(string name, string? version)
    {
        if (!_models.TryGetValue(name, out var model))
        {
            string why = Failures.TryGetValue(name, out string? reason) ? $" (it failed to load: {reason})" : "";
            throw new ModelNotFoundException(
                $"No model '{name}'{why}; this server has {(_models.Count == 0 ? "none" : string.Join(", ", _models.Keys.Order(StringComparer.Ordinal)))}.");
        }
        if (string.IsNullOrEmpty(version))
        {
            var latest = model.Versions.Last();
            return (model, latest.Key, latest.Value);
        }
        if (!long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out long v) || !model.Versions.TryGetValue(v, out var onnx))
        {
            throw new ModelNotFoundException($"Model '{name}' has no version '{version}'; it has {string.Join(", ", model.Versions.Keys)}.");
        }
        return (model, v, onnx);
    }

    public void Dispose()
    {
        foreach (var m in _models.Values)
        {
            m.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Model} versions {Versions} on {Provider}")]
    private static partial void LogLoaded(ILogger logger, string model, IEnumerable<long> versions, string provider);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model} not loaded: {Reason}")]
    private static partial void LogFailed(ILogger logger, string model, string reason);
}

/// <summary>One model of the repository: its config (if any) and its loaded versions.</summary>
public sealed class RepositoryModel : IDisposable
{
    public const string ModelFileName = "model.onnx";

    private RepositoryModel(string name, ClassifierConfig? config, SortedDictionary<long, OnnxModel> versions)
    {
        Name = name;
        Config = config;
        Versions = versions;
    }

    public string Name { get; }

    public ClassifierConfig? Config { get; }

    /// <summary>Loaded versions, lowest first.</summary>
    public SortedDictionary<long, OnnxModel> Versions { get; }

    public string ExecutionProvider => Versions.Values.First().ExecutionProvider;

    internal static RepositoryModel Load(string name, string folder, OnnxOptions options, ILogger logger)
    {
        string configPath = Path.Combine(folder, ClassifierConfig.FileName);
        var config = File.Exists(configPath) ? ClassifierConfig.Load(configPath) : null;
        var versionFolders = Directory.EnumerateDirectories(folder)
            .Select(d => (Path: d, Ok: long.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out long v), Version: v))
            .Where(d => d.Ok && d.Version >= 1 && File.Exists(Path.Combine(d.Path, ModelFileName)))
            .ToList();
        if (versionFolders.Count == 0)
        {
            throw new InvalidDataException($"{folder}: no version folder (1, 2, ...) holding {ModelFileName}.");
        }
        var versions = new SortedDictionary<long, OnnxModel>();
        try
        {
            foreach (var (path, _, version) in versionFolders)
            {
                var model = OnnxModel.Load(Path.Combine(path, ModelFileName), options, config?.MaxBatchSize ?? ClassifierConfig.DefaultMaxBatchSize, logger);
                versions[version] = model;
                if (config?.ProblemsWith(model.Inputs, model.Outputs) is { Count: > 0 } problems)
                {
                    throw new InvalidDataException($"{configPath} does not fit version {version}: {string.Join("; ", problems)}.");
                }
            }
        }
        catch
        {
            foreach (var m in versions.Values)
            {
                m.Dispose();
            }
            throw;
        }
        return new RepositoryModel(name, config, versions);
    }

    public void Dispose()
    {
        foreach (var m in Versions.Values)
        {
            m.Dispose();
        }
    }
}
