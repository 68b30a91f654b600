using Grpc.Health.V1;
using Grpc.Net.Client;
using GrpcExplain.EndToEnd.Tests;
using GrpcExplain.Inference;
using GrpcExplain.Protos.V1;

[assembly: AssemblyFixture(typeof(ServeAll))]

namespace GrpcExplain.EndToEnd.Tests;

/// <summary>
/// <c>grpcexplain serve all</c> on free loopback ports, once for the whole run, with the grey32
/// generator on the CPU backend and the fixture model repository on ONNX Runtime's CPU provider
/// (tiny_cnn, RGB; tiny_cnn_u8, grey like the generator's images); ready (every health SERVING)
/// before the first test. Small limits, so that the tests can reach them.
/// </summary>
public sealed class ServeAll : IAsyncLifetime
{
    public const int MaxBatchSize = 4;
    public const int MaxMessageBytes = 1024 * 1024;

    private readonly string _folder = Directory.CreateTempSubdirectory("grpcexplain-serve-all-").FullName;
    private ServeRun _run = null!;

    public GrpcChannel Generator { get; private set; } = null!;
    public GrpcChannel Classifier { get; private set; } = null!;
    public GrpcChannel Coordinator { get; private set; } = null!;

    public GeneratorService.GeneratorServiceClient GeneratorClient => new(Generator);
    public GRPCInferenceService.GRPCInferenceServiceClient ClassifierClient => new(Classifier);

    public Uri Address(string service) => _run.Addresses[service];

    /// <summary>serve all's command line for the fixture, with the coordinator's direction database in <paramref name="folder"/>.</summary>
    public static string[] Args(string folder, params string[] more) =>
    [
        "serve", "all", "--directions", Path.Combine(folder, "directions.db"), "--generator-port", "0", "--classifier-port", "0", "--coordinator-port", "0",
        "--weights", Fixtures.Weights, "--backend", "cpu", "--max-batch-size", $"{MaxBatchSize}",
        "--model-repository", Fixtures.Repository, "--execution-provider", "cpu", "--intra-op-threads", "1",
        "--max-message-bytes", $"{MaxMessageBytes}", "--log-level", "warning", .. more,
    ];

    public async ValueTask InitializeAsync()
    {
        _run = await ServeRun.StartAsync(Args(_folder), "generator", "classifier", "coordinator");
        (Generator, Classifier, Coordinator) = (Fixtures.Channel(Address("generator")), Fixtures.Channel(Address("classifier")), Fixtures.Channel(Address("coordinator")));
        await Fixtures.WaitForHealthAsync(Generator, "");
        await Fixtures.WaitForHealthAsync(Classifier, "");
        await Fixtures.WaitForHealthAsync(Coordinator, "");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in new[] { Generator, Classifier, Coordinator }) channel?.Dispose();
        int exit = await _run.StopAsync();
        // Checked here because only the fixture sees the shared run end: Ctrl+C stops it gracefully, with exit code 0.
        if (exit != 0 || !_run.Stderr.Contains("grpcexplain: stopped.", StringComparison.Ordinal))
            throw new InvalidOperationException($"serve all stopped with exit code {exit}:\n{_run.Stderr}");
        await _run.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>Paths of the fixtures, channels, and waiting for a service's health.</summary>
public static class Fixtures
{
    public static string Weights => Path.Combine(AppContext.BaseDirectory, "Fixtures", "grey32", "generator.safetensors");

    public static string Repository => Path.Combine(AppContext.BaseDirectory, "Fixtures", "model_repository");

    public static string Model(string name) => Path.Combine(Repository, name, "1", "model.onnx");

    /// <summary>A channel with no message limits of its own, so that the server's limits are the ones tested.</summary>
    public static GrpcChannel Channel(Uri address, HttpMessageHandler? handler = null) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null, HttpHandler = handler });

    public static async Task<HealthCheckResponse.Types.ServingStatus> HealthAsync(GrpcChannel channel, string service) =>
        (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = service }, cancellationToken: TestContext.Current.CancellationToken)).Status;

    /// <summary>Polls grpc.health.v1 until <paramref name="service"/> answers SERVING (models load in the background).</summary>
    public static async Task WaitForHealthAsync(GrpcChannel channel, string service)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await HealthAsync(channel, service) != HealthCheckResponse.Types.ServingStatus.Serving)
        {
            Assert.True(DateTime.UtcNow < deadline, $"'{service}' at {channel.Target} did not answer SERVING in 30 s.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
