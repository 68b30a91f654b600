using System.Collections.Concurrent;
using System.Net;
using Grpc.Net.Client;
using GrpcExplain.Kernels;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan.Weights;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrpcExplain.Generator.Tests;

/// <summary>
/// A generator service on a loopback Kestrel port (port 0: real HTTP/2, so message limits and
/// compression are the ones a client meets), a channel to it, and every log line it wrote.
/// </summary>
public sealed class GeneratorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LogSink _log;

    private GeneratorServer(WebApplication app, LogSink log, GrpcChannel channel)
    {
        (_app, _log, Channel) = (app, log, channel);
        Client = new GeneratorService.GeneratorServiceClient(channel);
    }

    public GrpcChannel Channel { get; }
    public GeneratorService.GeneratorServiceClient Client { get; }
    public IServiceProvider Services => _app.Services;
    public GeneratorModel Model => Services.GetRequiredService<GeneratorModel>();
    public Uri Address { get; private set; } = null!;
    public IReadOnlyCollection<string> Log => _log.Lines;

    /// <summary>Starts a server; unless <paramref name="waitUntilLoaded"/> is false, returns once the model has loaded.</summary>
    public static async Task<GeneratorServer> StartAsync(Func<StyleGan.Generator> factory, Action<GeneratorServiceOptions>? configure = null, bool waitUntilLoaded = true)
    {
        var log = new LogSink();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders().AddProvider(log).SetMinimumLevel(LogLevel.Information);
        builder.Services.AddGeneratorService(o =>
        {
            o.GeneratorFactory = factory;
            configure?.Invoke(o);
        });
        var app = builder.Build();
        app.MapGeneratorService();
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        if (waitUntilLoaded) await app.Services.GetRequiredService<GeneratorModel>().Loading;
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        return new GeneratorServer(app, log, channel) { Address = address };
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private sealed class LogSink : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();
        public IReadOnlyCollection<string> Lines => _lines;
        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
        public void Dispose() { }

        private sealed class Logger(LogSink sink, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                sink._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : $" [{exception.GetType().Name}: {exception.Message}]")}");
        }
    }
}

/// <summary>Generators for the tests, on the CPU backend: tiny random ones, and the grey32 fixture whose outputs PyTorch recorded.</summary>
internal static class TestGenerators
{
    public static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "grey32", file);

    public static GeneratorWeights Grey32 { get; } = GeneratorWeights.Load(FixturePath("generator.safetensors"));

    public static StyleGan.Generator Create(GeneratorWeights weights) => new(Backends.Create(BackendKind.Cpu), weights);

    public static Func<StyleGan.Generator> Factory(GeneratorWeights weights) => () => Create(weights);
}
