using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Onnx;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Classifier;

/// <summary>
/// The service's model repository, loaded in the background when the host starts so that health
/// checking can answer NOT_SERVING meanwhile. Ready once every model folder (or every model named in
/// the options) has loaded; a repository with a model that failed stays not ready, with the reason.
/// A model whose folder has <c>reference.safetensors</c> is white-box: its <see cref="WhiteBoxModel"/> is
/// loaded beside the ONNX sessions and checked to be the same network; when that fails, the model is
/// not served (and the service not ready).
/// </summary>
internal sealed partial class ModelStore(IOptions<ClassifierServiceOptions> options, ILogger<ModelStore> logger) : BackgroundService
{
    private volatile ModelRepository? _repository;
    private volatile string? _failure;
    // Written before _repository, read after it.
    private Dictionary<string, WhiteBoxModel> _whiteBoxes = [];
    private Dictionary<string, string> _whiteBoxFailures = [];

    public ModelRepository? Repository => _repository;

    /// <summary>Why the service is not ready, once loading is over; null while loading or when ready.</summary>
    public string? Failure => _failure;

    public bool Ready => _repository is not null && _failure is null;

    /// <summary>The loaded repository, or UNAVAILABLE while loading and after a failure.</summary>
    public ModelRepository Require() => _repository ?? throw new ServiceNotReadyException(
        _failure is null ? "The classifier is still loading its models." : $"The classifier could not load its models: {_failure}");

    /// <summary>
    /// The model and version a request names (see <see cref="ModelRepository.Resolve"/>), with its white box
    /// (null for a black box); NOT_FOUND for a white-box model whose reference network did not load.
    /// </summary>
    public (RepositoryModel Model, long Version, OnnxModel Onnx, WhiteBoxModel? WhiteBox) Resolve(string name, string? version)
    {
        var repository = Require();
        if (_whiteBoxFailures.TryGetValue(name, out string? reason))
            throw new ModelNotFoundException($"Model '{name}' is not served: {reason}");
        var (model, v, onnx) = repository.Resolve(name, version);
        return (model, v, onnx, _whiteBoxes.GetValueOrDefault(name));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        try
        {
            if (o.BeforeLoad is { } gate)
            {
                await gate(stoppingToken).ConfigureAwait(false);
            }
            var repository = await Task.Run(() => ModelRepository.Load(o.ModelRepository!, o.Onnx, logger, o.Models.Count > 0 ? [.. o.Models] : null, stoppingToken), stoppingToken)
                .ConfigureAwait(false);
            await Task.Run(() => LoadWhiteBoxes(repository, stoppingToken), stoppingToken).ConfigureAwait(false);
            var failures = repository.Failures.Concat(_whiteBoxFailures).ToList();
            if (failures.Count > 0)
            {
                _failure = string.Join(" ", failures.Select(f => $"{f.Key}: {f.Value}"));
            }
            else if (repository.Models.Count == 0)
            {
                _failure = $"the model repository '{o.ModelRepository}' has no models";
            }
            _repository = repository;
            if (_failure is null)
            {
                LogReady(logger, repository.Models.Count);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Also a missing native library: the host (maybe hosting other services too) stays up and says why.
            _failure = e.Message;
            LogFailed(logger, e.Message);
        }
    }

    private void LoadWhiteBoxes(ModelRepository repository, CancellationToken cancellationToken)
    {
        var loaded = new Dictionary<string, WhiteBoxModel>(StringComparer.Ordinal);
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var model in repository.Models.Values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string folder = Path.Combine(repository.Root, model.Name);
            WhiteBoxModel? whiteBox = null;
            try
            {
                whiteBox = WhiteBoxModel.TryLoad(folder);
                if (whiteBox is null) continue;
                foreach (var (version, onnx) in model.Versions)
                    whiteBox.CheckAgainst(onnx, model.Config?.Output.Name, $"{folder}/{version}/{RepositoryModel.ModelFileName}");
                loaded[model.Name] = whiteBox;
                LogWhiteBox(logger, model.Name, whiteBox.Config.FeatureResolution);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
            {
                whiteBox?.Dispose();
                failures[model.Name] = $"its {Classifiers.Reference.ReferenceCnnExport.WeightsFileName} did not load: {e.Message}";
                LogFailed(logger, $"{model.Name}: {failures[model.Name]}");
            }
        }
        _whiteBoxes = loaded;
        _whiteBoxFailures = failures;
    }

    public override void Dispose()
    {
        foreach (var whiteBox in _whiteBoxes.Values) whiteBox.Dispose();
        _repository?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Classifier ready: {Count} models loaded")]
    private static partial void LogReady(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} is white-box: image gradients and Grad-CAM (on its {Resolution}-pixel last feature map) by the reference CNN on the CPU kernels")]
    private static partial void LogWhiteBox(ILogger logger, string model, int resolution);

    [LoggerMessage(Level = LogLevel.Error, Message = "Classifier not ready: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}

/// <summary>The service cannot answer yet (or at all): UNAVAILABLE.</summary>
internal sealed class ServiceNotReadyException(string message) : Exception(message);

/// <summary>Healthy once every model is loaded: grpc.health.v1 answers NOT_SERVING until then, and for good when one failed.</summary>
internal sealed class ModelStoreHealthCheck(ModelStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(store.Ready ? HealthCheckResult.Healthy("The models are loaded.")
            : store.Failure is { } failure ? HealthCheckResult.Unhealthy($"The models could not be loaded: {failure}")
            : HealthCheckResult.Unhealthy("The models are loading."));
}
