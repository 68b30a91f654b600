using Grpc.Core;
using GrpcExplain.Generator.Tests;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcExplain.Coordinator.Tests;

/// <summary>
/// The coordinator's stream ends as CANCELLED however the end of the call surfaces in the handler:
/// a cancelled wait, or a frame written as the deadline completed the response. A failure while the
/// call is still open stays INTERNAL.
/// </summary>
public class CallEndTests
{
    private static readonly CoordinatorErrorInterceptor Interceptor = new(NullLogger<CoordinatorErrorInterceptor>.Instance);

    public static TheoryData<string> WaysACallEnds => ["cancelled wait", "raced write", "broken stream"];

    [Theory]
    [MemberData(nameof(WaysACallEnds))]
    public async Task AnEndedCallIsAnsweredCancelled(string way)
    {
        using var call = new EndingCallContext("/grpcexplain.v1.ExplainerService/Explain");
        var e = await Assert.ThrowsAsync<RpcException>(() => Interceptor.ServerStreamingServerHandler<object, object>(new object(), null!, call, (_, _, context) =>
        {
            call.End();
            throw way switch
            {
                "cancelled wait" => new OperationCanceledException(context.CancellationToken),
                "raced write" => EndingCallContext.RacedWrite(),
                _ => new IOException("The client reset the request stream."),
            };
        }));
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
    }

    [Fact]
    public async Task AFailureOfAnOpenCallIsInternal()
    {
        using var call = new EndingCallContext("/grpcexplain.v1.ExplainerService/Explain");
        var e = await Assert.ThrowsAsync<RpcException>(() => Interceptor.ServerStreamingServerHandler<object, object>(new object(), null!, call,
            (_, _, _) => throw EndingCallContext.RacedWrite()));
        Assert.Equal(StatusCode.Internal, e.StatusCode);
    }
}
