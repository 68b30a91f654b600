using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using GrpcExplain.Classifiers;

namespace GrpcExplain.Classifier;

/// <summary>
/// Domain exceptions to gRPC statuses, in one place: bad input → INVALID_ARGUMENT with a
/// google.rpc.BadRequest naming each field; unknown model or version → NOT_FOUND with a ResourceInfo;
/// models not loaded → UNAVAILABLE; anything unexpected → INTERNAL, logged here and not shown to
/// the client beyond its type.
/// </summary>
internal sealed partial class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (InvalidInputException e)
        {
            var badRequest = new BadRequest();
            badRequest.FieldViolations.AddRange(e.Violations.Select(v => new BadRequest.Types.FieldViolation { Field = v.Field, Description = v.Description }));
            throw Status(Code.InvalidArgument, e.Message, Any.Pack(badRequest));
        }
        catch (ModelNotFoundException e)
        {
            throw Status(Code.NotFound, e.Message, Any.Pack(new ResourceInfo { ResourceType = "model", Description = e.Message }));
        }
        catch (ServiceNotReadyException e)
        {
            throw Status(Code.Unavailable, e.Message);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away or its deadline passed; grpc-dotnet has already answered DEADLINE_EXCEEDED where it applies.
            throw new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, "The call was cancelled."));
        }
        catch (Exception e) when (e is not RpcException)
        {
            LogUnexpected(logger, e, context.Method);
            throw Status(Code.Internal, $"The classifier failed on this request ({e.GetType().Name}); the server log has the details.");
        }
    }

    private static RpcException Status(Code code, string message, params Any[] details)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        status.Details.AddRange(details);
        return status.ToRpcException();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure in {Method}")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method);
}
