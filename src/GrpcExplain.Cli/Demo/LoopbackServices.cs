using System.Net;
using Grpc.Health.V1;
using Grpc.Net.Client;
using GrpcExplain.Classifier;
using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Cli.Explain;
using GrpcExplain.Cli.Serve;
using GrpcExplain.Coordinator;
using GrpcExplain.Generator;
using Microsoft.Extensions.Logging;

namespace GrpcExplain.Cli.Demo;

/// <summary>
/// One pairing served as <c>serve all</c> serves it, on free loopback ports in this process: its
/// generator, its classifier repository, and a coordinator over both (fitted directions in
/// <c>directionsPath</c>). Started, it waits until the coordinator reports SERVING (the generator loaded,
/// the models ready); disposed, it stops the three hosts.
/// </summary>
internal sealed class LoopbackServices : IAsyncDisposable
{
    private readonly ServiceHosts _hosts;

    private LoopbackServices(ServiceHosts hosts, Uri generator, Uri classifier, Uri coordinator) =>
        (_hosts, Generator, Classifier, Coordinator) = (hosts, generator, classifier, coordinator);

    public Uri Generator { get; }

    public Uri Classifier { get; }

    public Uri Coordinator { get; }

    /// <param name="useEncoder">Let the generator service warm-start projections from the pairing's encoder (encoder.safetensors) when it has one.</param>
    public static async Task<LoopbackServices> StartAsync(ModelPairing pairing, string directionsPath, int probeSamples, string backend,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellation, bool useEncoder = true)
    {
        var hosts = new ServiceHosts(new ServeSettings(IPAddress.Loopback, null, ServeOptions.DefaultMaxMessageBytes, LogLevel.Warning), stdout, stderr, cancellation);
        try
        {
            var generator = await hosts.StartAsync(new ServiceDefinition("generator", s => s.AddGeneratorService(o =>
            {
                o.WeightsPath = pairing.GeneratorPath;
                o.Backend = backend;
                if (!useEncoder) o.EncoderPath = "none";
            }), e => e.MapGeneratorService()), 0).ConfigureAwait(false);
            var classifier = await hosts.StartAsync(new ServiceDefinition("classifier", s => s.AddClassifierService(o =>
            {
                o.ModelRepository = pairing.ClassifierRepository;
                o.ExecutionProvider = ExecutionProvider.Cpu;
            }), e => e.MapClassifierService()), 0).ConfigureAwait(false);
            var coordinator = await hosts.StartAsync(new ServiceDefinition("coordinator", s => s.AddCoordinatorService(o =>
            {
                o.GeneratorAddress = generator.ClientAddress.ToString();
                o.ClassifierAddress = classifier.ClientAddress.ToString();
                o.ClassifierConfigRepository = pairing.ClassifierRepository;
                o.DirectionDatabasePath = directionsPath;
                o.DefaultProbeSamples = probeSamples;
            }), e => e.MapCoordinatorService()), 0).ConfigureAwait(false);
            var services = new LoopbackServices(hosts, generator.ClientAddress, classifier.ClientAddress, coordinator.ClientAddress);
            await services.WaitUntilServingAsync(cancellation).ConfigureAwait(false);
            return services;
        }
        catch
        {
            await hosts.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Task StopAsync() => _hosts.StopAsync();

    public ValueTask DisposeAsync() => _hosts.DisposeAsync();

    /// <summary>The coordinator is SERVING once the generator has loaded and the classifier's models are ready.</summary>
    private async Task WaitUntilServingAsync(CancellationToken cancellation)
    {
        using var channel = GrpcChannel.ForAddress(Coordinator);
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var status = (await health.CheckAsync(new HealthCheckRequest { Service = CoordinatorServiceExtensions.ServiceName }, cancellationToken: cancellation).ConfigureAwait(false)).Status;
            if (status == HealthCheckResponse.Types.ServingStatus.Serving) return;
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException("the services did not become ready in 2 minutes (see the log above).");
            await Task.Delay(100, cancellation).ConfigureAwait(false);
        }
    }
}
