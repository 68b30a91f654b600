using GrpcExplain.Classifiers.Reference;
using static GrpcExplain.Classifiers.Onnx.OnnxProtoWriter;

namespace GrpcExplain.Classifiers.Onnx;

/// <summary>
/// The reference CNN as an ONNX graph, the black box the classifier service runs with ONNX Runtime:
/// per stage Conv (3x3, pads 1, the run-time gain folded into the weight) and Relu, then AveragePool
/// (2x2, stride 2) after every stage but the last; GlobalAveragePool, Flatten and Gemm (transB, the fc
/// gain folded in). Input "image" FP32 [N, C, R, R] in [-1, 1] (what <see cref="ReferenceCnnExport.Config"/>'s
/// normalisation makes of an image), output "logits" FP32 [N, classes].
/// </summary>
public static class OnnxReferenceCnn
{
    public const string InputName = "image", OutputName = "logits";

    public static byte[] Write(ReferenceCnnWeights weights, string producer = "grpcexplain")
    {
        ArgumentNullException.ThrowIfNull(weights);
        var config = weights.Config;
        var nodes = new List<byte[]>();
        var initializers = new List<byte[]>();
        string x = InputName;
        for (int i = 0; i < config.ConvCount; i++)
        {
            string name = $"conv{i}";
            var w = weights[$"{name}.weight"];
            float gain = ReferenceCnnWeights.ConvGain(config.InChannels(i));
            initializers.Add(Initializer($"{name}.weight", [.. w.Shape.Select(d => (long)d)], [.. w.Data.Select(v => v * gain)]));
            initializers.Add(Initializer($"{name}.bias", [config.Channels[i]], weights[$"{name}.bias"].Data));
            nodes.Add(Node([x, $"{name}.weight", $"{name}.bias"], [$"{name}.conv"], name, "Conv",
                IntsAttribute("kernel_shape", 3, 3), IntsAttribute("pads", 1, 1, 1, 1), IntsAttribute("strides", 1, 1)));
            nodes.Add(Node([$"{name}.conv"], [$"{name}.relu"], $"{name}.relu", "Relu"));
            x = $"{name}.relu";
            if (i == config.ConvCount - 1) break;
            nodes.Add(Node([x], [$"{name}.pool"], $"{name}.pool", "AveragePool", IntsAttribute("kernel_shape", 2, 2), IntsAttribute("strides", 2, 2)));
            x = $"{name}.pool";
        }
        var fc = weights["fc.weight"];
        float fcGain = ReferenceCnnWeights.FcGain(config.FeatureChannels);
        initializers.Add(Initializer("fc.weight", [config.ClassCount, config.FeatureChannels], [.. fc.Data.Select(v => v * fcGain)]));
        initializers.Add(Initializer("fc.bias", [config.ClassCount], weights["fc.bias"].Data));
        nodes.Add(Node([x], ["gap"], "gap", "GlobalAveragePool"));
        nodes.Add(Node(["gap"], ["features"], "flatten", "Flatten", IntAttribute("axis", 1)));
        nodes.Add(Node(["features", "fc.weight", "fc.bias"], [OutputName], "fc", "Gemm", IntAttribute("transB", 1)));
        byte[] graph = Graph(ReferenceCnnConfig.NetworkName, nodes, initializers,
            [ValueInfo(InputName, [null, config.ImgChannels, config.ImgResolution, config.ImgResolution])],
            [ValueInfo(OutputName, [null, config.ClassCount])]);
        return Model(graph, producer);
    }
}
