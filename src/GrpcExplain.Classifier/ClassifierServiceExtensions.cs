using System.IO.Compression;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Classifier;

/// <summary>
/// Hosting the classifier service in any ASP.NET Core app: <c>services.AddClassifierService(...)</c>,
/// then <c>app.MapClassifierService()</c>. Serves the Open Inference Protocol
/// (inference.GRPCInferenceService) with gRPC health checking (grpc.health.v1: NOT_SERVING until the
/// models are loaded) and server reflection. One classifier service per host.
/// </summary>
public static class ClassifierServiceExtensions
{
    /// <summary>Registers the service with options bound from a configuration section (see <see cref="ClassifierServiceOptions"/>).</summary>
    public static IServiceCollection AddClassifierService(this IServiceCollection services, IConfiguration section) =>
        services.AddClassifierService(section.Bind);

    public static IServiceCollection AddClassifierService(this IServiceCollection services, Action<ClassifierServiceOptions> configure)
    {
        services.AddOptions<ClassifierServiceOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClassifierServiceOptions>, ClassifierServiceOptionsValidation>());
        services.AddGrpc();
        // Limits, compression and error mapping for this service only; other services in the host keep their own.
        services.AddOptions<GrpcServiceOptions<InferenceService>>().Configure<IOptions<ClassifierServiceOptions>>((grpc, classifier) =>
        {
            grpc.MaxReceiveMessageSize = classifier.Value.MaxMessageSizeBytes;
            grpc.MaxSendMessageSize = classifier.Value.MaxMessageSizeBytes;
            // grpc-dotnet compresses a response only when the client's grpc-accept-encoding lists the algorithm.
            grpc.ResponseCompressionAlgorithm = classifier.Value.CompressResponses ? "gzip" : null;
            grpc.ResponseCompressionLevel = CompressionLevel.Fastest;
            grpc.Interceptors.Add<ErrorInterceptor>();
        });
        services.AddGrpcReflection();
        services.AddSingleton<ModelStore>();
        services.AddHostedService(sp => sp.GetRequiredService<ModelStore>());
        services.AddGrpcHealthChecks(o =>
        {
            // "" is the whole server (every check); the service's own name, its models.
            o.Services.Map("", _ => true);
            o.Services.Map(InferenceService.ServiceName, c => c.Tags.Contains(InferenceService.ServiceName));
        }).AddCheck<ModelStoreHealthCheck>("classifier-models", tags: [InferenceService.ServiceName]);
        return services;
    }

    public static IEndpointRouteBuilder MapClassifierService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<InferenceService>();
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapGrpcReflectionService();
        return endpoints;
    }
}
