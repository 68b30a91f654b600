using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace GrpcExplain.Generator;

/// <summary>
/// What is wrong with a request, field by field. <see cref="ThrowIfAny"/> answers INVALID_ARGUMENT
/// with every violation in the message (for people) and as google.rpc.BadRequest in the status
/// details (for programs).
/// </summary>
internal sealed class RequestErrors(string request)
{
    private readonly BadRequest _badRequest = new();

    public bool HasErrors => _badRequest.FieldViolations.Count > 0;

    public void Add(string field, string description) =>
        _badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

    public void ThrowIfAny()
    {
        if (!HasErrors) return;
        string message = $"{request} is invalid: " + string.Join("; ", _badRequest.FieldViolations.Select(v => $"{v.Field}: {v.Description}"));
        throw new Google.Rpc.Status
        {
            Code = (int)Code.InvalidArgument,
            Message = message,
            Details = { Any.Pack(_badRequest) },
        }.ToRpcException();
    }
}
