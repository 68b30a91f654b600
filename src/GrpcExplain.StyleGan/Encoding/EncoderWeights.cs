using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan.Encoding;

/// <summary>
/// An encoder's parameters by name (<c>conv0.weight</c>, …, <c>fc.weight</c>, <c>fc.bias</c>, as
/// <see cref="Kernels.Networks.ConvNetArchitecture"/> names them) and the <c>w_avg</c> it predicts
/// offsets from, checked against its configuration: every tensor present with its shape, nothing
/// unexpected, all finite.
/// </summary>
public sealed class EncoderWeights
{
    private EncoderWeights(EncoderConfig config, IReadOnlyDictionary<string, HostTensor> tensors) => (Config, Tensors) = (config, tensors);

    public EncoderConfig Config { get; }

    public IReadOnlyDictionary<string, HostTensor> Tensors { get; }

    /// <summary>Where a generator's encoder lives: <c>encoder.safetensors</c> beside its weights file.</summary>
    public static string PathBeside(string generatorWeightsPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(generatorWeightsPath))!, FileName);

    public const string FileName = "encoder.safetensors";

    /// <summary>Reads a weights file; errors name the file and what is wrong with it.</summary>
    public static EncoderWeights Load(string path) =>
        SafeTensors.Load(path, $"Encoder weights '{path}' do not exist.", file => FromTensors(EncoderConfig.FromMetadata(file.Metadata), file.Tensors));

    public static EncoderWeights FromTensors(EncoderConfig config, IReadOnlyDictionary<string, HostTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        config.Validate();
        return new EncoderWeights(config, ExpectedTensors.Select(config.TensorShapes(), tensors,
            $"encoder ({config.ImgChannels}x{config.ImgResolution}x{config.ImgResolution} to w_dim {config.WDim}, channels [{string.Join(", ", config.Channels)}])"));
    }

    /// <summary>A new encoder: N(0, 1) weights (gains at run time), zero biases, and the generator's <paramref name="wAvg"/>.</summary>
    public static EncoderWeights Initialize(EncoderConfig config, float[] wAvg, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(wAvg);
        config.Validate();
        var tensors = config.Architecture.Initialize(seed);
        tensors["w_avg"] = new HostTensor([config.WDim], [.. wAvg]);
        return FromTensors(config, tensors);
    }

    /// <summary>Writes the weights with the configuration as metadata, atomically (temporary file, then rename).</summary>
    public void Save(string path) =>
        SafeTensors.Write(path, Config.TensorShapes().Select(p => new KeyValuePair<string, HostTensor>(p.Name, Tensors[p.Name])), Config.ToMetadata());
}
