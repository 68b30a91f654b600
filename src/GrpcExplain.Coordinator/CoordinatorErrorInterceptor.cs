using Grpc.Core;
using Grpc.Core.Interceptors;
using GrpcExplain.Explain.Directions;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Protos.V1;

namespace GrpcExplain.Coordinator;

/// <summary>
/// Turns the method's exceptions into statuses: a failed generator or classifier is UNAVAILABLE with a
/// message naming it; a probe that cannot be fitted is FAILED_PRECONDITION; a cancelled call is
/// CANCELLED; anything unexpected is INTERNAL, logged. Statuses thrown as RpcException pass as they are.
/// </summary>
internal sealed partial class CoordinatorErrorInterceptor(ILogger<CoordinatorErrorInterceptor> log) : Interceptor
{
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (DependencyException e)
        {
            LogDependencyFailed(log, context.Method, e.Dependency);
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
        catch (ProbeException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        catch (Exception e) when (CallEnd.Explains(e, context))
        {
            LogCancelled(log, context.Method);
            throw new RpcException(new Status(StatusCode.Cancelled, $"{context.Method} was cancelled (or its deadline passed); its work has stopped."));
        }
#pragma warning disable CA1031 // the last resort of a service: every other failure is answered INTERNAL, not left to crash the call
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogFailed(log, e, context.Method);
            throw new RpcException(new Status(StatusCode.Internal, $"{context.Method} failed: {e.Message}"));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method}: the {Dependency} failed; answered UNAVAILABLE")]
    private static partial void LogDependencyFailed(ILogger logger, string method, Dependency dependency);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method}: cancelled by the client or its deadline; work stopped")]
    private static partial void LogCancelled(ILogger logger, string method);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method);
}
