using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan;

public sealed partial class Generator
{
    private readonly MappingNetwork _mapping;
    private readonly SynthesisNetwork _synthesis;
    private readonly GeneratorWeights _loaded;
    private GeneratorWeights? _weights;

    /// <summary>Uploads every parameter to the backend once; the generator owns those tensors.</summary>
    public Generator(Backend backend, GeneratorWeights weights)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        Backend = backend;
        _loaded = _weights = weights;
        _mapping = new MappingNetwork(backend, weights);
        _synthesis = new SynthesisNetwork(backend, weights);
    }

    public Backend Backend { get; }

    /// <summary>See <see cref="SynthesisNetwork.Profiler"/>.</summary>
    internal Action<string>? SynthesisProfiler { set => _synthesis.Profiler = value; }

    internal IReadOnlyList<SynthesisNetwork.Layer> SynthesisLayers => _synthesis.Layers;

    /// <summary>
    /// The weights the generator computes with: those it was built from until
    /// <see cref="SetParameters"/> changes them, then read back (<see cref="ToWeights"/>) when next asked for.
    /// </summary>
    public GeneratorWeights Weights => _weights ??= ToWeights();

    public GeneratorConfig Config => _loaded.Config;

    public void Dispose()
    {
        _mapping.Dispose();
        _synthesis.Dispose();
    }
}

/// <summary>
/// Holds a network's parameters and buffers by stylegan2-ada-pytorch name: most as device tensors,
/// the few the host reads (the constant input, w_avg) as host arrays. Owns the device copies.
/// </summary>
internal abstract class Network(Backend backend) : IDisposable
{
    private readonly Dictionary<string, Tensor> _device = new(StringComparer.Ordinal);
    private readonly Dictionary<string, float[]> _host = new(StringComparer.Ordinal);
    protected Backend B { get; } = backend;

    /// <summary>Uploads a parameter, optionally viewed with another shape of the same size.</summary>
    protected Tensor Upload(GeneratorWeights weights, string name, Shape? shape = null)
    {
        var t = weights[name];
        var tensor = B.Upload(t.Data, shape ?? (t.Shape.Length == 0 ? new Shape(1) : new Shape(t.Shape)));
        _device.Add(name, tensor);
        return tensor;
    }

    /// <summary>Keeps a tensor the host reads on the host (a copy: the weights object stays as it was).</summary>
    protected void KeepOnHost(GeneratorWeights weights, string name) => _host.Add(name, [.. weights[name].Data]);

    protected float[] Host(string name) => _host[name];

    public bool Holds(string name) => _device.ContainsKey(name) || _host.ContainsKey(name);

    /// <summary>A host copy of the named tensor.</summary>
    public float[] Read(string name) => _host.TryGetValue(name, out var h) ? [.. h] : B.Download(_device[name]);

    /// <summary>Overwrites the named tensor (length already checked); host arrays are replaced, never changed in place, so readers holding one see a consistent value.</summary>
    public void Write(string name, float[] values)
    {
        if (_host.ContainsKey(name)) _host[name] = [.. values];
        else B.Upload(values, _device[name]);
    }

    public void Dispose()
    {
        foreach (var t in _device.Values) t.Dispose();
        _device.Clear();
    }
}
