using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrpcExplain.Classifiers.Onnx;

namespace GrpcExplain.Classifiers.Reference;

/// <summary>
/// A trained reference CNN as a model-repository entry the classifier service serves:
/// <c>REPO/NAME/1/model.onnx</c> (the black box), <c>REPO/NAME/classifier.json</c> (how to feed it), and
/// <c>REPO/NAME/reference.safetensors</c> (our own format, for image gradients and Grad-CAM: a model with
/// this file beside it is white-box). Each file is written under a temporary name and renamed into place.
/// </summary>
public static class ReferenceCnnExport
{
    public const string WeightsFileName = "reference.safetensors";

    /// <summary>
    /// The config of the exported model: the ONNX graph takes [-1, 1] images as the network does, which is
    /// normalisation mean 0.5, std 0.5 of the config's (x + 1) / 2; softmax over the logits.
    /// </summary>
    public static ClassifierConfig Config(ReferenceCnnConfig config, ImageFit fit, int maxBatchSize = ClassifierConfig.DefaultMaxBatchSize)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ClassifierConfig
        {
            Input = new InputConfig { Name = OnnxReferenceCnn.InputName, Channels = config.ImgChannels, Height = config.ImgResolution, Width = config.ImgResolution },
            Normalization = new NormalizationConfig { Scale = 1, Mean = [0.5f], Std = [0.5f] },
            Output = new OutputConfig { Name = OnnxReferenceCnn.OutputName, Activation = Activation.Softmax },
            ClassLabels = config.ClassLabels,
            MaxBatchSize = maxBatchSize,
            Fit = fit,
        };
    }

    /// <summary>Writes <c>repository/name/</c>; returns that folder.</summary>
    public static string Write(ReferenceCnnWeights weights, string repository, string name, ImageFit fit, string producer = "grpcexplain")
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentException.ThrowIfNullOrEmpty(repository);
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a model name (one folder name, no slashes).", nameof(name));
        string folder = Path.Combine(repository, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        weights.Save(Path.Combine(folder, WeightsFileName));
        AtomicFiles.Write(Path.Combine(folder, "1", RepositoryModel.ModelFileName), OnnxReferenceCnn.Write(weights, producer));
        // Indented: people read this file beside the model.
        string json = JsonNode.Parse(Config(weights.Config, fit).ToJson())!.ToJsonString(Indented);
        AtomicFiles.Write(Path.Combine(folder, ClassifierConfig.FileName), Encoding.UTF8.GetBytes(json + "\n"));
        return folder;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
