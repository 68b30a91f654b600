using System.Collections.Concurrent;
using Grpc.Net.Client;
using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Classifiers.Tests;
using GrpcExplain.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrpcExplain.Classifier.Tests;

/// <summary>
/// The classifier service in an in-memory ASP.NET Core host (TestServer: real HTTP/2 gRPC framing,
/// no socket) over the fixture model repository, with a channel to it and the log lines it wrote.
/// </summary>
public sealed class TestClassifierHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestClassifierHost(WebApplication app, GrpcChannel channel, HeaderSpy spy, LogLines logs)
    {
        _app = app;
        Channel = channel;
        Spy = spy;
        Logs = logs;
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
    }

    public GrpcChannel Channel { get; }

    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    public HeaderSpy Spy { get; }

    public LogLines Logs { get; }

    public static async Task<TestClassifierHost> StartAsync(Action<ClassifierServiceOptions>? configure = null, bool waitUntilReady = true,
        int clientMaxMessageBytes = 64 * 1024 * 1024)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        var logs = new LogLines();
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Services.AddClassifierService(o =>
        {
            o.ModelRepository = Fixtures.Repository;
            o.ExecutionProvider = ExecutionProvider.Cpu;
            o.IntraOpThreads = 1;
            configure?.Invoke(o);
        });
        var app = builder.Build();
        app.MapClassifierService();
        await app.StartAsync(TestContext.Current.CancellationToken);
        var spy = new HeaderSpy(app.GetTestServer().CreateHandler());
        var channel = GrpcChannel.ForAddress(app.GetTestServer().BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = spy,
            MaxReceiveMessageSize = clientMaxMessageBytes,
            MaxSendMessageSize = clientMaxMessageBytes,
        });
        var host = new TestClassifierHost(app, channel, spy, logs);
        if (waitUntilReady)
        {
            await host.WaitUntilReadyAsync();
        }
        return host;
    }

    /// <summary>An instance of a service class with the host's dependencies, to call it without the transport.</summary>
    public T Create<T>() => ActivatorUtilities.CreateInstance<T>(_app.Services);

    public async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(await Client.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: TestContext.Current.CancellationToken)).Ready)
        {
            Assert.True(DateTime.UtcNow < deadline, "The classifier service did not become ready in 20 s.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}

/// <summary>Rewrites the request's grpc-accept-encoding when asked, and keeps the last response's headers.</summary>
public sealed class HeaderSpy(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    public string? AcceptEncoding { get; set; }

    public string? LastResponseEncoding { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (AcceptEncoding is not null)
        {
            request.Headers.Remove("grpc-accept-encoding");
            request.Headers.TryAddWithoutValidation("grpc-accept-encoding", AcceptEncoding);
        }
        var response = await base.SendAsync(request, cancellationToken);
        LastResponseEncoding = response.Headers.TryGetValues("grpc-encoding", out var values) ? string.Join(",", values) : null;
        return response;
    }
}

/// <summary>Every formatted log line, with its structured values, to check what the service logs.</summary>
public sealed class LogLines : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogLines sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
            sink.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} | {string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"))}");
        }
    }
}

/// <summary>A call context for calling a service method directly.</summary>
public sealed class FakeCallContext(CancellationToken cancellationToken) : Grpc.Core.ServerCallContext
{
    protected override string MethodCore => "/inference.GRPCInferenceService/ModelInfer";

    protected override string HostCore => "localhost";

    protected override string PeerCore => "test";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Grpc.Core.Metadata RequestHeadersCore { get; } = [];

    protected override CancellationToken CancellationTokenCore => cancellationToken;

    protected override Grpc.Core.Metadata ResponseTrailersCore { get; } = [];

    protected override Grpc.Core.Status StatusCore { get; set; }

    protected override Grpc.Core.WriteOptions? WriteOptionsCore { get; set; }

    protected override Grpc.Core.AuthContext AuthContextCore => new(null, []);

    protected override Grpc.Core.ContextPropagationToken CreatePropagationTokenCore(Grpc.Core.ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Grpc.Core.Metadata responseHeaders) => Task.CompletedTask;
}
