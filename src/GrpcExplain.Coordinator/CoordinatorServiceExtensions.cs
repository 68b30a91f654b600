using System.IO.Compression;
using Grpc.AspNetCore.Server;
using Grpc.Net.Client;
using GrpcExplain.Explain.Directions;
using GrpcExplain.Explain.Generation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Coordinator;

/// <summary>
/// Hosting the coordinator in any ASP.NET Core app: <c>services.AddCoordinatorService(...)</c>, then
/// <c>app.MapCoordinatorService()</c>. Adds gRPC health checking (grpc.health.v1: SERVING only while
/// the generator and the classifier service answer) and server reflection. Projection is the
/// generator's Project RPC; a host that registers its own <see cref="ILatentEncoder"/> before this
/// call (an encoder network, a test's fake) replaces it.
/// </summary>
public static class CoordinatorServiceExtensions
{
    /// <summary>The name grpc.health.v1 and reflection know the service by.</summary>
    public const string ServiceName = "grpcexplain.v1.ExplainerService";

    /// <summary>Registers the service with options bound from a configuration section (see <see cref="CoordinatorServiceOptions"/>).</summary>
    public static IServiceCollection AddCoordinatorService(this IServiceCollection services, IConfiguration section) =>
        services.AddCoordinatorService(section.Bind);

    public static IServiceCollection AddCoordinatorService(this IServiceCollection services, Action<CoordinatorServiceOptions> configure)
    {
        services.AddOptions<CoordinatorServiceOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CoordinatorServiceOptions>, CoordinatorServiceOptionsValidation>());
        services.AddGrpc();
        // Limits, compression and error mapping for this service only, so that other services in the same host keep their own.
        services.AddOptions<GrpcServiceOptions<ExplainerGrpcService>>().Configure<IOptions<CoordinatorServiceOptions>>((grpc, coordinator) =>
        {
            grpc.MaxReceiveMessageSize = coordinator.Value.MaxMessageSizeBytes;
            grpc.MaxSendMessageSize = coordinator.Value.MaxMessageSizeBytes;
            // grpc-dotnet compresses a response only when the client's grpc-accept-encoding lists the algorithm.
            grpc.ResponseCompressionAlgorithm = coordinator.Value.CompressResponses ? "gzip" : null;
            grpc.ResponseCompressionLevel = CompressionLevel.Fastest;
            grpc.Interceptors.Add<CoordinatorErrorInterceptor>();
        });
        services.AddGrpcReflection();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CoordinatorServiceOptions>>().Value;
            var address = new Uri(o.GeneratorAddress!);
            return new GeneratorClient(OpenChannel(address, o), address, o);
        });
        services.TryAddSingleton<ILatentEncoder>(sp => sp.GetRequiredService<GeneratorClient>());
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CoordinatorServiceOptions>>().Value;
            var address = new Uri(o.ClassifierAddress!);
            return new ClassifierCatalog(OpenChannel(address, o), address, o);
        });
        services.AddSingleton(sp => new DirectionStore(sp.GetRequiredService<IOptions<CoordinatorServiceOptions>>().Value.DirectionDatabasePath));
        services.AddSingleton<LinearProbeDirections>();
        services.AddGrpcHealthChecks(o =>
        {
            // "" is the whole server (every check); the service's own name, the services it needs.
            o.Services.Map("", _ => true);
            o.Services.Map(ServiceName, c => c.Tags.Contains(ServiceName));
        }).AddCheck<DependenciesHealthCheck>("coordinator-dependencies", tags: [ServiceName]);
        return services;
    }

    public static IEndpointRouteBuilder MapCoordinatorService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<ExplainerGrpcService>();
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapGrpcReflectionService();
        return endpoints;
    }

    /// <summary>
    /// A channel to a service the coordinator depends on. HTTP/2 keep-alive pings find a peer that
    /// vanished without closing its connection, so a stream waiting on it fails instead of hanging.
    /// </summary>
    private static GrpcChannel OpenChannel(Uri address, CoordinatorServiceOptions options) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = options.MaxMessageSizeBytes,
            MaxSendMessageSize = options.MaxMessageSizeBytes,
            ThrowOperationCanceledOnCancellation = true,
            HttpHandler = new SocketsHttpHandler
            {
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                EnableMultipleHttp2Connections = true,
            },
        });
}
