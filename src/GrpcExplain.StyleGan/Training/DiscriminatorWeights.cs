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

    public static DiscriminatorWeights Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        var file = SafeTensors.Read(path);
        try
        {
            return FromTensors(DiscriminatorConfig.FromMetadata(file.Metadata), file.Tensors);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static DiscriminatorWeights FromTensors(DiscriminatorConfig config, IReadOnlyDictionary<string, HostTensor> tensors)
    {
        config.Validate();
        var expected = config.ParameterShapes().ToDictionary(p => p.Name, p => p.Shape);
        var problems = new List<string>();
        var unexpected = tensors.Keys.Where(k => !expected.ContainsKey(k) && !k.EndsWith(".resample_filter", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0) problems.Add($"unexpected tensors {string.Join(", ", unexpected.Take(8))}{(unexpected.Count > 8 ? $" and {unexpected.Count - 8} more" : "")}");
        var kept = new Dictionary<string, HostTensor>();
        foreach (var (name, shape) in expected)
        {
            if (!tensors.TryGetValue(name, out var t)) problems.Add($"missing tensor '{name}'");
            else if (!t.Shape.SequenceEqual(shape)) problems.Add($"tensor '{name}' has shape {t.ShapeText}, expected [{string.Join(", ", shape)}]");
            else if (Array.FindIndex(t.Data, v => !float.IsFinite(v)) is int bad and >= 0) problems.Add($"tensor '{name}' holds a non-finite value at element {bad}");
            else kept[name] = t;
        }
        if (problems.Count > 0)
            throw new InvalidDataException($"{config.ImgResolution}x{config.ImgResolution} '{config.Architecture}' discriminator: {string.Join("; ", problems)}.");
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
