using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Cli.Serve;

/// <summary>What one service adds to its host and maps on it (grpc-dotnet's AddX/MapX pair).</summary>
internal sealed record ServiceDefinition(string Name, Action<IServiceCollection> Add, Action<IEndpointRouteBuilder> Map);

/// <summary>
/// One service in its own ASP.NET Core host on its own Kestrel endpoint: HTTP/2 only (gRPC without
/// TLS needs prior knowledge), with TLS when a certificate is given. Nothing is read from
/// appsettings.json, environment variables or the process's arguments: the command line is the
/// whole configuration, and the caller, not the host, handles Ctrl+C and SIGTERM.
/// </summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServiceHost(string name, WebApplication app, Uri address, Uri clientAddress) =>
        (Name, _app, Address, ClientAddress) = (name, app, address, clientAddress);

    public string Name { get; }

    /// <summary>The address as bound, with the port Kestrel chose for port 0.</summary>
    public Uri Address { get; }

    /// <summary>
    /// Where a client in this process reaches the service: <see cref="Address"/>, with the loopback
    /// address when it listens on every interface, or the plain loopback port that <c>inProcessEndpoint</c> adds.
    /// </summary>
    public Uri ClientAddress { get; }

    /// <summary>Stops when the host stops by itself (not through <see cref="StopAsync"/>).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <param name="inProcessEndpoint">
    /// Over TLS, also listen on a plain HTTP/2 loopback port (<see cref="ClientAddress"/>) for a client
    /// in this process (serve all's coordinator), which could not validate a self-signed certificate.
    /// The hop never leaves the machine, and TLS here authenticates the server, not its clients.
    /// </param>
    public static async Task<ServiceHost> StartAsync(ServiceDefinition service, int port, ServeSettings settings, TextWriter stderr, bool inProcessEndpoint,
        CancellationToken cancellation)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        ServeLog.Configure(builder.Logging, service.Name, stderr, settings.LogLevel);
        bool plainLoopback = inProcessEndpoint && settings.Certificate is not null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(settings.Host, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (settings.Certificate is { } certificate) listen.UseHttps(certificate);
            });
            if (plainLoopback) k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
        });
        service.Add(builder.Services);

        var app = builder.Build();
        service.Map(app);
        try
        {
            await app.StartAsync(cancellation).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            // Kestrel says which address and why (in use); say which service too.
            throw new IOException($"{service.Name}: {e.Message}", e);
        }
        catch (SocketException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"{service.Name}: could not listen on {settings.Host}:{port}: {e.Message}.", e);
        }
        catch (OptionsValidationException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new UsageException($"{service.Name}: {string.Join(" ", e.Failures)}");
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        var address = addresses.First(a => a.Scheme == (settings.Certificate is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps));
        return new ServiceHost(service.Name, app, address, plainLoopback ? addresses.Single(a => a != address) : ClientAddressOf(address, settings.Host));
    }

    /// <summary>
    /// How long a stop waits for calls in flight before it cancels them. A second Ctrl+C ends the
    /// process at once (Program).
    /// </summary>
    public static TimeSpan ShutdownTimeout { get; } = TimeSpan.FromSeconds(10);

    public Task StopAsync() => _app.StopAsync(CancellationToken.None);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static Uri ClientAddressOf(Uri address, IPAddress host)
    {
        if (!host.Equals(IPAddress.Any) && !host.Equals(IPAddress.IPv6Any)) return address;
        var loopback = host.Equals(IPAddress.Any) ? IPAddress.Loopback : IPAddress.IPv6Loopback;
        return new UriBuilder(address) { Host = loopback.ToString() }.Uri;
    }

    /// <summary>The command owns the process's signals (Program turns them into its cancellation token), not each host.</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
