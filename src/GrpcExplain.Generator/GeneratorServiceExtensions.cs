using System.IO.Compression;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Generator;

/// <summary>
/// Hosting the generator service in any ASP.NET Core app: <c>services.AddGeneratorService(...)</c>,
/// then <c>app.MapGeneratorService()</c>. Adds gRPC health checking (grpc.health.v1: NOT_SERVING until
/// the model is loaded) and server reflection. One generator per host.
/// </summary>
public static class GeneratorServiceExtensions
{
    /// <summary>The name grpc.health.v1 and reflection know the service by.</summary>
    public const string ServiceName = "grpcexplain.v1.GeneratorService";

    /// <summary>Registers the service with options bound from a configuration section (see <see cref="GeneratorServiceOptions"/>).</summary>
    public static IServiceCollection AddGeneratorService(this IServiceCollection services, IConfiguration section) =>
        services.AddGeneratorService(section.Bind);

    public static IServiceCollection AddGeneratorService(this IServiceCollection services, Action<GeneratorServiceOptions> configure)
    {
        services.AddOptions<GeneratorServiceOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GeneratorServiceOptions>, GeneratorServiceOptionsValidation>());
        services.AddGrpc();
        // Limits and compression for this service only, so that other services in the same host keep their own.
        services.AddOptions<GrpcServiceOptions<GeneratorGrpcService>>().Configure<IOptions<GeneratorServiceOptions>>((grpc, generator) =>
        {
            grpc.MaxReceiveMessageSize = generator.Value.MaxMessageSizeBytes;
            grpc.MaxSendMessageSize = generator.Value.MaxMessageSizeBytes;
            // grpc-dotnet compresses a response only when the client's grpc-accept-encoding lists the algorithm.
            grpc.ResponseCompressionAlgorithm = generator.Value.CompressResponses ? "gzip" : null;
            grpc.ResponseCompressionLevel = CompressionLevel.Fastest;
        });
        services.AddGrpcReflection();
        services.AddSingleton<GeneratorModel>();
        services.AddHostedService(sp => sp.GetRequiredService<GeneratorModel>());
        services.AddGrpcHealthChecks(o =>
        {
            // "" is the whole server (every check); the service's own name, its model.
            o.Services.Map("", _ => true);
            o.Services.Map(ServiceName, c => c.Tags.Contains(ServiceName));
        }).AddCheck<GeneratorHealthCheck>("generator-model", tags: [ServiceName]);
        return services;
    }

    public static IEndpointRouteBuilder MapGeneratorService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<GeneratorGrpcService>();
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapGrpcReflectionService();
        return endpoints;
    }
}
