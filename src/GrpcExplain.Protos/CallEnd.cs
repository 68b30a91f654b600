using Grpc.Core;

namespace GrpcExplain.Protos.V1;

/// <summary>
/// How the end of a call shows in a server-streaming handler. When the client goes away or the
/// deadline passes, grpc-dotnet cancels the call's token and completes the response; a wait then
/// throws OperationCanceledException, but a write that raced the completion throws
/// InvalidOperationException ("the request is complete", "writer was completed") or IOException.
/// All three are the cancellation, not a failure of the service.
/// </summary>
public static class CallEnd
{
    public static bool Explains(Exception e, ServerCallContext context) =>
        context.CancellationToken.IsCancellationRequested && e is OperationCanceledException or InvalidOperationException or IOException;
}
