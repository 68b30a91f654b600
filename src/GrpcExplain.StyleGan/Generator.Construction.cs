using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan;

public sealed partial class Generator
{
    private readonly Dictionary<string, Tensor> _parameters = [];

    /// <summary>Uploads every parameter to the backend once; the generator owns those tensors.</summary>
    public Generator(Backend backend, GeneratorWeights weights)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        Backend = backend;
        Weights = weights;
        foreach (var (name, t) in weights.Tensors)
            _parameters[name] = backend.Upload(t.Data, t.Shape.Length == 0 ? new Shape(1) : new Shape(t.Shape));
    }

    public Backend Backend { get; }
    public GeneratorWeights Weights { get; }
    public GeneratorConfig Config => Weights.Config;

    internal Tensor Parameter(string name) => _parameters[name];

    public void Dispose()
    {
        foreach (var t in _parameters.Values) t.Dispose();
        _parameters.Clear();
    }
}
