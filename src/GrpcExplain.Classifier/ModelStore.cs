using GrpcExplain.Classifiers;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Classifier;

/// <summary>
/// The service's model repository, loaded in the background when the host starts so that health
/// checking can answer NOT_SERVING meanwhile. Ready once every model folder (or every model named in
/// the options) has loaded; a repository with a model that failed stays not ready, with the reason.
/// </summary>
internal sealed partial class ModelStore(IOptions<ClassifierServiceOptions> options, ILogger<ModelStore> logger) : BackgroundService
{
    private volatile ModelRepository? _repository;
    private volatile string? _failure;

    public ModelRepository? Repository => _repository;

    /// <summary>Why the service is not ready, once loading is over; null while loading or when ready.</summary>
    public string? Failure => _failure;

    public bool Ready => _repository is not null && _failure is null;

    /// <summary>The loaded repository, or UNAVAILABLE while loading and after a failure.</summary>
    public ModelRepository Require() => _repository ?? throw new ServiceNotReadyException(
        _failure is null ? "The classifier is still loading its models." : $"The classifier could not load its models: {_failure}");

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
            if (repository.Failures.Count > 0)
            {
                _failure = string.Join(" ", repository.Failures.Select(f => $"{f.Key}: {f.Value}"));
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

    public override void Dispose()
    {
        _repository?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Classifier ready: {Count} models loaded")]
    private static partial void LogReady(ILogger logger, int count);

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
