using GrpcExplain.Kernels;
using GrpcExplain.Kernels.Networks;

namespace GrpcExplain.Classifiers.Reference;

/// <summary>
/// The reference CNN's parameters by name (<c>conv0.weight</c>, <c>conv0.bias</c>, …, <c>fc.weight</c>,
/// <c>fc.bias</c>), checked against its configuration: every tensor present with its shape, nothing
/// unexpected, all finite. Weights are stored unscaled, N(0, 1) at initialisation, and the layers apply
/// their gains at run time (equalized learning rate, as the generator's weights: one Adam learning rate
/// then moves every layer at the same relative pace): a convolution's weight is multiplied by
/// √(2 / (in_channels·9)) (He's gain for ReLU), the fully connected weight by 1/√in_features. The ONNX
/// export folds the gains in.
/// </summary>
public sealed class ReferenceCnnWeights
{
    private ReferenceCnnWeights(ReferenceCnnConfig config, IReadOnlyDictionary<string, HostTensor> tensors) =>
        (Config, Tensors) = (config, tensors);

    public ReferenceCnnConfig Config { get; }

    public IReadOnlyDictionary<string, HostTensor> Tensors { get; }

    public HostTensor this[string name] => Tensors.TryGetValue(name, out var t) ? t
        : throw new KeyNotFoundException($"The reference CNN has no tensor '{name}'.");

    /// <summary>Run-time gain of convolution weights with this many input channels.</summary>
    public static float ConvGain(int inChannels) => ConvNetArchitecture.ConvGain(inChannels);

    /// <summary>Run-time gain of the fully connected weight.</summary>
    public static float FcGain(int inFeatures) => 1f / MathF.Sqrt(inFeatures);

    /// <summary>Reads a weights file; errors name the file and what is wrong with it.</summary>
    public static ReferenceCnnWeights Load(string path) =>
        SafeTensors.Load(path, $"Reference CNN weights '{path}' do not exist.", file => FromTensors(ReferenceCnnConfig.FromMetadata(file.Metadata), file.Tensors));

    public static ReferenceCnnWeights FromTensors(ReferenceCnnConfig config, IReadOnlyDictionary<string, HostTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        config.Validate();
        var kept = ExpectedTensors.Select(config.ParameterShapes(), tensors,
            $"reference CNN ({config.ImgChannels}x{config.ImgResolution}x{config.ImgResolution}, channels [{string.Join(", ", config.Channels)}], {config.ClassCount} classes)");
        return new ReferenceCnnWeights(config, kept);
    }

    /// <summary>Every weight N(0, 1) (the gains come at run time), every bias 0; the same seed gives the same weights.</summary>
    public static ReferenceCnnWeights Initialize(ReferenceCnnConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return FromTensors(config, config.Architecture.Initialize(seed));
    }

    /// <summary>Writes the weights with the architecture as metadata, atomically (temporary file, then rename).</summary>
    public void Save(string path) =>
        SafeTensors.Write(path, Config.ParameterShapes().Select(p => new KeyValuePair<string, HostTensor>(p.Name, Tensors[p.Name])), Config.ToMetadata());
}
