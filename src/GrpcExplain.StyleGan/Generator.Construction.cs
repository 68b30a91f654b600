using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan;

public sealed partial class Generator
{
    private readonly MappingNetwork _mapping;
    private readonly SynthesisNetwork _synthesis;

    /// <summary>Uploads every parameter to the backend once; the generator owns those tensors.</summary>
    public Generator(Backend backend, GeneratorWeights weights)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        Backend = backend;
        Weights = weights;
        _mapping = new MappingNetwork(backend, weights);
        _synthesis = new SynthesisNetwork(backend, weights);
    }

    public Backend Backend { get; }
    public GeneratorWeights Weights { get; }
    public GeneratorConfig Config => Weights.Config;

    public void Dispose()
    {
        _mapping.Dispose();
        _synthesis.Dispose();
    }
}

/// <summary>Owns the device copies of parameters; subclasses name what they upload.</summary>
internal abstract class Network(Backend backend) : IDisposable
{
    private readonly List<Tensor> _owned = [];
    protected Backend B { get; } = backend;

    /// <summary>Uploads a parameter, optionally reshaped and scaled (a gain folded in once).</summary>
    protected Tensor Upload(GeneratorWeights weights, string name, Shape? shape = null, float scale = 1f)
    {
        var t = weights[name];
        var data = scale == 1f ? t.Data : [.. t.Data.Select(v => v * scale)];
        var tensor = B.Upload(data, shape ?? (t.Shape.Length == 0 ? new Shape(1) : new Shape(t.Shape)));
        _owned.Add(tensor);
        return tensor;
    }

    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }
}
