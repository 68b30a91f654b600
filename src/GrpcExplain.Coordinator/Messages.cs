using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using GrpcExplain.Explain;
using ProtoTensor = GrpcExplain.Protos.V1.Tensor;

namespace GrpcExplain.Coordinator;

/// <summary>
/// What is wrong with a request, field by field: INVALID_ARGUMENT with every violation in the message
/// (for people) and as google.rpc.BadRequest details (for programs), as the other services answer.
/// </summary>
internal sealed class BadRequestBuilder(string request)
{
    private readonly BadRequest _violations = new();

    public bool HasViolations => _violations.FieldViolations.Count > 0;

    public void Add(string field, string description) =>
        _violations.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

    public void ThrowIfAny()
    {
        if (!HasViolations) return;
        var text = string.Join("; ", _violations.FieldViolations.Select(v => $"{v.Field}: {v.Description}"));
        throw new Google.Rpc.Status { Code = (int)Code.InvalidArgument, Message = $"{request} is invalid: {text}", Details = { Any.Pack(_violations) } }.ToRpcException();
    }

    /// <summary>One violation, thrown at once.</summary>
    public static RpcException Single(string request, string field, string description)
    {
        var errors = new BadRequestBuilder(request);
        errors.Add(field, description);
        try
        {
            errors.ThrowIfAny();
        }
        catch (RpcException e)
        {
            return e;
        }
        throw new InvalidOperationException("unreachable");
    }
}

/// <summary>float32 values to and from the protos' Tensor (shape and little-endian bytes).</summary>
internal static class TensorMessages
{
    public static ProtoTensor ToProto(ReadOnlySpan<float> values, params ReadOnlySpan<int> shape)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Tensors are little-endian float32; this host is big-endian.");
        var tensor = new ProtoTensor { Data = UnsafeByteOperations.UnsafeWrap(MemoryMarshal.AsBytes(values).ToArray()) };
        foreach (int d in shape) tensor.Shape.Add(d);
        return tensor;
    }

    /// <summary>The values of a tensor whose byte count fits its shape; null (and a violation) otherwise.</summary>
    public static float[]? Values(ProtoTensor tensor, string field, BadRequestBuilder errors)
    {
        long count = 1;
        foreach (long d in tensor.Shape)
        {
            if (d < 1 || d > int.MaxValue / 4)
            {
                errors.Add($"{field}.shape", $"[{string.Join(", ", tensor.Shape)}] has a dimension below 1 or too large.");
                return null;
            }
            count = checked(count * d);
        }
        if (tensor.Data.Length != count * sizeof(float))
        {
            errors.Add($"{field}.data", $"holds {tensor.Data.Length} bytes; shape [{string.Join(", ", tensor.Shape)}] needs {count * sizeof(float)} (float32, little-endian).");
            return null;
        }
        var values = MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();
        int bad = Array.FindIndex(values, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            errors.Add($"{field}.data", $"holds a non-finite value ({values[bad]}) at element {bad}; every value must be finite.");
            return null;
        }
        return values;
    }

    public static Protos.V1.ClassProbabilities Probabilities(ClassPrediction prediction)
    {
        var message = new Protos.V1.ClassProbabilities { PredictedClass = prediction.PredictedClass };
        message.Probabilities.AddRange(prediction.Probabilities);
        message.ClassNames.AddRange(prediction.ClassLabels);
        return message;
    }
}
