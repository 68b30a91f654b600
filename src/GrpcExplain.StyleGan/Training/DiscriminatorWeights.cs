using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Training;

/// <summary>
/// A discriminator's parameters by stylegan2-ada-pytorch name, checked against its configuration:
/// every tensor present with its shape, nothing unexpected (resample_filter buffers are accepted and
/// dropped), all finite. Weights are stored unscaled; the equalized-lr gains are applied at run time.
/// </summary>
public sealed class DiscriminatorWeights
{
    private DiscriminatorWeights(DiscriminatorConfig config, IReadOnlyDictionary<string, HostTensor> tensors) =>
        (Config, Tensors) = (config, tensors);

    public DiscriminatorConfig Config { get; }
    public IReadOnlyDictionary<string, HostTensor> Tensors { get; }

    public HostTensor this[string name] => Tensors.TryGetValue(name, out var t) ? t
        : throw new KeyNotFoundException($"The discriminator has no tensor '{name}'.");

    public static DiscriminatorWeights Load(string path) =>
        SafeTensors.Load(path, $"Weights file '{path}' does not exist.", file => FromTensors(DiscriminatorConfig.FromMetadata(file.Metadata), file.Tensors));

    public static DiscriminatorWeights FromTensors(DiscriminatorConfig config, IReadOnlyDictionary<string, HostTensor> tensors)
    {
        config.Validate();
        var kept = ExpectedTensors.Select(config.ParameterShapes(), tensors, $"{config.ImgResolution}x{config.ImgResolution} '{config.Architecture}' discriminator",
            tolerated: name => name.EndsWith(".resample_filter", StringComparison.Ordinal));
        return new DiscriminatorWeights(config, kept);
    }

    /// <summary>NVIDIA's initialisation: every weight N(0, 1) (the gains 1/√fan_in come at run time), every bias 0.</summary>
    public static DiscriminatorWeights Initialize(DiscriminatorConfig config, int seed)
    {
        var rng = new Random(seed);
        var tensors = new Dictionary<string, HostTensor>();
        foreach (var (name, shape) in config.ParameterShapes())
        {
            var data = new float[HostTensor.Count(shape)];
            if (name.EndsWith(".weight", StringComparison.Ordinal))
                for (int i = 0; i < data.Length; i++)
                    data[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
            tensors[name] = new HostTensor(shape, data);
        }
        return FromTensors(config, tensors);
    }

    public void Save(string path) =>
        SafeTensors.Write(path, Config.ParameterShapes().Select(p => new KeyValuePair<string, HostTensor>(p.Name, Tensors[p.Name])), Config.ToMetadata());
}
