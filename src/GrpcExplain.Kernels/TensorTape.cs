namespace GrpcExplain.Kernels;

/// <summary>The tensors one recorded pass allocated, freed together (a network's forward keeps them for its backward).</summary>
public class TensorTape : IDisposable
{
    private readonly List<Tensor> _owned = [];

    public Tensor Keep(Tensor t)
    {
        _owned.Add(t);
        return t;
    }

    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Where a backward pass writes parameter gradients (backend tensors by parameter name); null when they are not wanted.</summary>
public sealed class GradientSink(Backend backend) : IDisposable
{
    public Dictionary<string, Tensor> Tensors { get; } = [];

    public Tensor For(string name, Shape shape)
    {
        var t = backend.Allocate(shape);
        Tensors.Add(name, t);
        return t;
    }

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
