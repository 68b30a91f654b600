using Grpc.Core;

namespace GrpcExplain.Generator.Tests;

/// <summary>
/// A server call context for calling a handler or an interceptor directly, whose call can be ended
/// (its token cancelled) at the moment a test chooses: the race between a deadline and a write that
/// over real HTTP/2 happens only now and then. Shared with the coordinator's tests.
/// </summary>
internal sealed class EndingCallContext(string method) : ServerCallContext, IDisposable
{
    private readonly CancellationTokenSource _end = new();

    /// <summary>What grpc-dotnet throws for a write that races the response it has just completed at the deadline.</summary>
    public static InvalidOperationException RacedWrite() => new("Can't write the message because the request is complete.");

    public void End() => _end.Cancel();

    public void Dispose() => _end.Dispose();

    protected override string MethodCore => method;
    protected override string HostCore => "localhost";
    protected override string PeerCore => "ipv4:127.0.0.1:1";
    protected override DateTime DeadlineCore => DateTime.MaxValue;
    protected override Metadata RequestHeadersCore { get; } = [];
    protected override CancellationToken CancellationTokenCore => _end.Token;
    protected override Metadata ResponseTrailersCore { get; } = [];
    protected override Status StatusCore { get; set; }
    protected override WriteOptions? WriteOptionsCore { get; set; }
    protected override AuthContext AuthContextCore => new(null, []);
    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
}
