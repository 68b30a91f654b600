namespace GrpcExplain.Cli.Serve;

/// <summary>
/// The hosts one <c>serve</c> command runs: started in order, each announced on stdout once bound,
/// stopped in reverse order (the coordinator before the services it calls) when the caller cancels
/// or when any host stops by itself.
/// </summary>
internal sealed class ServiceHosts(ServeSettings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellation) : IAsyncDisposable
{
    private readonly List<ServiceHost> _hosts = [];

    /// <param name="inProcessEndpoint">See <see cref="ServiceHost.StartAsync"/>.</param>
    public async Task<ServiceHost> StartAsync(ServiceDefinition service, int port, bool inProcessEndpoint = false)
    {
        var host = await ServiceHost.StartAsync(service, port, settings, stderr, inProcessEndpoint, cancellation).ConfigureAwait(false);
        _hosts.Add(host);
        // The line scripts and tests wait for: the address as bound, with the port chosen for port 0.
        stdout.WriteLine($"{host.Name} listening on {host.Address.GetLeftPart(UriPartial.Authority)}");
        stdout.Flush();
        if (host.ClientAddress.Scheme != host.Address.Scheme)
            stderr.WriteLine($"grpcexplain: {host.Name}: the coordinator in this process calls it over plain HTTP/2 on {host.ClientAddress.GetLeftPart(UriPartial.Authority)} (loopback only).");
        return host;
    }

    /// <summary>Serves until cancelled (exit code 0) or until a host stops by itself (exit code 1).</summary>
    public async Task<int> RunAsync()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource([cancellation, .. _hosts.Select(h => h.Stopping)]);
        await Task.Delay(Timeout.InfiniteTimeSpan, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        var stoppedByItself = cancellation.IsCancellationRequested ? null : _hosts.First(h => h.Stopping.IsCancellationRequested);
        await StopAsync().ConfigureAwait(false);
        if (stoppedByItself is not null)
        {
            stderr.WriteLine($"grpcexplain: the {stoppedByItself.Name} host stopped by itself (see the log above); the other services were stopped too.");
            return ExitCodes.Failure;
        }
        return ExitCodes.Success;
    }

    public async Task StopAsync()
    {
        if (_hosts.Count == 0) return;
        stderr.WriteLine($"grpcexplain: stopping {string.Join(", ", _hosts.Select(h => h.Name))} (calls in flight get {ServiceHost.ShutdownTimeout.TotalSeconds:F0} s; Ctrl+C again ends at once).");
        for (int i = _hosts.Count - 1; i >= 0; i--) await _hosts[i].StopAsync().ConfigureAwait(false);
        stderr.WriteLine("grpcexplain: stopped.");
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = _hosts.Count - 1; i >= 0; i--) await _hosts[i].DisposeAsync().ConfigureAwait(false);
        _hosts.Clear();
        settings.Certificate?.Dispose();
    }
}
