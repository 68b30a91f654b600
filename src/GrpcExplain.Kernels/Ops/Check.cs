namespace GrpcExplain.Kernels;

/// <summary>Argument checks shared by every backend, so bad calls fail the same way everywhere.</summary>
internal static class Check
{
    public static void Owned(Backend backend, string op, string name, Tensor? t)
    {
        if (t is null) return;
        if (t.IsDisposed) throw new ObjectDisposedException(name, $"{op}: {name} was disposed.");
        if (!ReferenceEquals(t.Owner, backend))
            throw new ArgumentException($"{op}: {name} belongs to backend '{t.Owner.Name}', not '{backend.Name}'.", name);
    }

    public static void Shape(string op, string name, Tensor? t, Shape expected, string meaning)
    {
        if (t is null) return;
        if (t.Shape != expected)
            throw new ArgumentException($"{op}: {name} must have shape {expected} ({meaning}) but has {t.Shape}.", name);
    }

    public static void Rank(string op, string name, Tensor t, int rank, string meaning)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.Shape.Rank != rank)
            throw new ArgumentException($"{op}: {name} must have rank {rank} ({meaning}) but has shape {t.Shape}.", name);
    }

    public static void That(bool condition, string op, string name, string message)
    {
        if (!condition) throw new ArgumentException($"{op}: {message}", name);
    }

    /// <summary>No output may be one of the inputs: kernels read inputs while they write outputs.</summary>
    public static void NoAlias(string op, (string Name, Tensor? T)[] outputs, params (string Name, Tensor? T)[] inputs)
    {
        foreach (var o in outputs)
            foreach (var i in inputs)
                if (o.T is not null && ReferenceEquals(o.T, i.T))
                    throw new ArgumentException($"{op}: {o.Name} must not be the same tensor as {i.Name}.", o.Name);
    }

    public static void Distinct(string op, params (string Name, Tensor? T)[] outputs)
    {
        for (int a = 0; a < outputs.Length; a++)
            for (int b = a + 1; b < outputs.Length; b++)
                if (outputs[a].T is not null && ReferenceEquals(outputs[a].T, outputs[b].T))
                    throw new ArgumentException($"{op}: {outputs[a].Name} and {outputs[b].Name} must be different tensors.");
    }
}
