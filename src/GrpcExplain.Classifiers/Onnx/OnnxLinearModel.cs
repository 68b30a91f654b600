using static GrpcExplain.Classifiers.Onnx.OnnxProtoWriter;

namespace GrpcExplain.Classifiers.Onnx;

/// <summary>
/// Writes a one-layer ONNX classifier, logit = W·flatten(image) + b (see <see cref="OnnxProtoWriter"/>
/// for how). Classifiers built to depend on a known latent direction (the coordinator's tests, the
/// bundled synthetic model pairing) are such graphs; ONNX Runtime reads them like any exported model.
/// </summary>
public static class OnnxLinearModel
{
    /// <summary>The model's bytes: input "image" FP32 [N, channels, size, size], output "logit" FP32 [N, 1].</summary>
    public static byte[] Write(float[] weight, float bias, int channels, int size, string producer = "grpcexplain")
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Length != channels * size * size) throw new ArgumentException("One weight per input value.", nameof(weight));
        byte[] graph = Graph("latent_direction_probe",
            [Node(["image"], ["flat"], "flatten", "Flatten"), Node(["flat", "W", "B"], ["logit"], "linear", "Gemm")],
            [Initializer("W", [weight.Length, 1], weight), Initializer("B", [1], [bias])],
            [ValueInfo("image", [null, channels, size, size])],
            [ValueInfo("logit", [null, 1])]);
        return Model(graph, producer);
    }
}
