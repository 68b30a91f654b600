using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GrpcExplain.Generator;

/// <summary>Healthy once the generator is loaded: grpc.health.v1 reports NOT_SERVING until then, and for good when loading failed.</summary>
internal sealed class GeneratorHealthCheck(GeneratorModel model) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(model.Generator is not null ? HealthCheckResult.Healthy("The generator is loaded.")
            : model.LoadFailure is { } failure ? HealthCheckResult.Unhealthy($"The generator could not be loaded: {failure}")
            : HealthCheckResult.Unhealthy("The generator is loading."));
}
