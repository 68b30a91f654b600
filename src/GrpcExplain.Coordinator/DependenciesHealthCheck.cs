using Grpc.Health.V1;
using GrpcExplain.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Coordinator;

/// <summary>
/// Healthy only while both services it needs answer: the generator's grpc.health.v1 says SERVING and
/// the classifier server's Open Inference Protocol ServerReady says ready. Asked afresh at each check.
/// </summary>
internal sealed class DependenciesHealthCheck(GeneratorClient generator, ClassifierCatalog classifiers, IOptions<CoordinatorServiceOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + options.Value.HealthCheckTimeout;
        var problems = new List<string>();
        try
        {
            var health = new Health.HealthClient(generator.Channel);
            var status = await health.CheckAsync(new HealthCheckRequest { Service = "grpcexplain.v1.GeneratorService" }, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (status.Status != HealthCheckResponse.Types.ServingStatus.Serving) problems.Add($"the generator at {generator.Address} is {status.Status}");
        }
        catch (Grpc.Core.RpcException e)
        {
            problems.Add($"the generator at {generator.Address} does not answer ({e.StatusCode})");
        }
        try
        {
            var inference = new GRPCInferenceService.GRPCInferenceServiceClient(classifiers.Channel);
            var ready = await inference.ServerReadyAsync(new ServerReadyRequest(), deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!ready.Ready) problems.Add($"the classifier service at {classifiers.Address} is not ready");
        }
        catch (Grpc.Core.RpcException e)
        {
            problems.Add($"the classifier service at {classifiers.Address} does not answer ({e.StatusCode})");
        }
        return problems.Count == 0 ? HealthCheckResult.Healthy("The generator and the classifier service answer.") : HealthCheckResult.Unhealthy(string.Join("; ", problems) + ".");
    }
}
