using System.Globalization;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifiers.Oip;

/// <summary>
/// Our extension of the Open Inference Protocol for white-box models, in the protocol's own terms so that
/// any client can use it: such a model's ModelMetadata lists, after its ONNX outputs, two more —
/// <c>logit_gradient</c>, FP32 with the input tensor's shape ([-1, C, H, W]): d(logit of the target
/// class)/d(input tensor); and <c>grad_cam</c>, FP32 [-1, H, W] in [0, 1]: Grad-CAM of the target class.
/// A ModelInfer that names either in its outputs carries the request parameter <c>target_class</c>
/// (int64, an index into the model's logits). They are computed only when named: an empty output list
/// still means the ONNX outputs, which need no parameter.
/// </summary>
public static class WhiteBoxOutputs
{
    public const string LogitGradient = "logit_gradient", GradCam = "grad_cam", TargetClassParameter = "target_class";

    public static bool IsWhiteBoxOutput(string name) => name is LogitGradient or GradCam;

    /// <summary>The two outputs' declarations for an NCHW image input [N, C, H, W].</summary>
    public static IReadOnlyList<TensorSpec> Specs(TensorSpec input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Shape.Count != 4) throw new ArgumentException($"An image input is [N, C, H, W]; '{input}' is not.", nameof(input));
        return
        [
            new TensorSpec(LogitGradient, DataType.Fp32, [-1, input.Shape[1], input.Shape[2], input.Shape[3]]),
            new TensorSpec(GradCam, DataType.Fp32, [-1, input.Shape[2], input.Shape[3]]),
        ];
    }

    public static void SetTargetClass(ModelInferRequest request, int targetClass)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Parameters[TargetClassParameter] = new InferParameter { Int64Param = targetClass };
    }

    /// <summary>The request's target class, or null with a violation saying what is wrong (missing, not int64, outside 0..classes−1).</summary>
    public static int? TargetClass(ModelInferRequest request, string model, int classes, string outputs, List<InputViolation> violations)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(violations);
        string field = $"parameters[{TargetClassParameter}]";
        string range = $"a class index from 0 to {classes - 1}";
        if (!request.Parameters.TryGetValue(TargetClassParameter, out var p))
        {
            violations.Add(new(field, $"is missing: {outputs} of model '{model}' are computed for one class; give '{TargetClassParameter}' as an int64 parameter, {range}"));
            return null;
        }
        long? value = p.ParameterChoiceCase switch
        {
            InferParameter.ParameterChoiceOneofCase.Int64Param => p.Int64Param,
            // Some clients write every integer unsigned; the value decides, not the field.
            InferParameter.ParameterChoiceOneofCase.Uint64Param => p.Uint64Param <= long.MaxValue ? (long)p.Uint64Param : long.MaxValue,
            _ => null,
        };
        if (value is null)
        {
            violations.Add(new(field, $"is a {p.ParameterChoiceCase} parameter; it must be int64_param, {range}"));
            return null;
        }
        if (value < 0 || value >= classes)
        {
            violations.Add(new(field, $"is {value.Value.ToString(CultureInfo.InvariantCulture)}; model '{model}' has {classes} classes, so give {range}"));
            return null;
        }
        return (int)value;
    }
}
