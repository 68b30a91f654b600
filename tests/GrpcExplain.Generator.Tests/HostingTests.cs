using System.Net.Http.Headers;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Net.Compression;
using Grpc.Reflection.V1Alpha;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan.Tests.Generator;

namespace GrpcExplain.Generator.Tests;

/// <summary>What every service gets from its host: health checking, reflection, compression on request.</summary>
public class HostingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HealthIsNotServingUntilTheModelIsLoaded()
    {
        using var release = new ManualResetEventSlim();
        var weights = TinyGenerators.Weights(TinyGenerators.Grey8);
        await using var server = await GeneratorServer.StartAsync(() =>
        {
            release.Wait(TimeSpan.FromSeconds(30));
            return TestGenerators.Create(weights);
        }, waitUntilLoaded: false);
        var health = new Health.HealthClient(server.Channel);

        foreach (var service in new[] { "", GeneratorServiceExtensions.ServiceName })
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest { Service = service }, cancellationToken: Ct)).Status);
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Contains("still loading", e.Status.Detail, StringComparison.Ordinal);

        release.Set();
        await server.Model.Loading;
        foreach (var service in new[] { "", GeneratorServiceExtensions.ServiceName })
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = service }, cancellationToken: Ct)).Status);
        Assert.Equal(weights.ContentHash, (await server.Client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: Ct)).WeightsSha256);
    }

    [Fact]
    public async Task AModelThatFailsToLoadStaysNotServingAndSaysWhy()
    {
        await using var server = await GeneratorServer.StartAsync(() => throw new InvalidDataException("weights.safetensors: tensor 'mapping.w_avg' is missing."));
        var health = new Health.HealthClient(server.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct)).Status);
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Client.SynthesizeAsync(new SynthesizeRequest(), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("could not be loaded: weights.safetensors: tensor 'mapping.w_avg' is missing.", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(server.Log, l => l.StartsWith("Critical", StringComparison.Ordinal) && l.Contains("NOT_SERVING", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReflectionListsTheServices()
    {
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(TinyGenerators.Weights(TinyGenerators.Grey8)));
        var reflection = new ServerReflection.ServerReflectionClient(server.Channel);
        using var call = reflection.ServerReflectionInfo(cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, Ct);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(Ct));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains(GeneratorServiceExtensions.ServiceName, services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Theory]
    [InlineData(true, "gzip")]
    [InlineData(false, null)]
    public async Task ResponsesAreGzippedWhenTheClientAcceptsGzip(bool clientAcceptsGzip, string? expectedEncoding)
    {
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(TestGenerators.Grey32));
        var headers = new ResponseHeaders(new SocketsHttpHandler());
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
        {
            HttpHandler = headers,
            MaxReceiveMessageSize = null,
            // With no providers the client advertises grpc-accept-encoding: identity only.
            CompressionProviders = clientAcceptsGzip ? [new GzipCompressionProvider(System.IO.Compression.CompressionLevel.Fastest)] : [],
        });
        var client = new GeneratorService.GeneratorServiceClient(channel);
        var request = new SynthesizeRequest { Ws = new float[4 * 32].ToTensor(4, 32), IncludeTensor = true };
        var response = await client.SynthesizeAsync(request, cancellationToken: Ct);
        Assert.Equal(expectedEncoding, headers.Last!.TryGetValues("grpc-encoding", out var encoding) ? encoding.Single() : null);
        Assert.Equal((await server.Client.SynthesizeAsync(request, cancellationToken: Ct)).Images, response.Images);
    }

    /// <summary>Remembers the headers of the last response.</summary>
    private sealed class ResponseHeaders(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public HttpResponseHeaders? Last { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Last = response.Headers;
            return response;
        }
    }
}
