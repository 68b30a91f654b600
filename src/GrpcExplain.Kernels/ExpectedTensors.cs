namespace GrpcExplain.Kernels;

/// <summary>
/// The check every network's weights pass when loaded: each expected tensor present with its shape and
/// finite, nothing unexpected; all problems named at once.
/// </summary>
public static class ExpectedTensors
{
    /// <summary>
    /// The expected tensors of <paramref name="tensors"/>, or an <see cref="InvalidDataException"/>
    /// "<paramref name="owner"/>: problem; problem." Names that <paramref name="tolerated"/> accepts
    /// (buffers the network recomputes) are dropped without complaint.
    /// </summary>
    public static Dictionary<string, HostTensor> Select(IEnumerable<(string Name, int[] Shape)> expected, IReadOnlyDictionary<string, HostTensor> tensors,
        string owner, Func<string, bool>? tolerated = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(tensors);
        var shapes = expected.ToDictionary(p => p.Name, p => p.Shape);
        var problems = new List<string>();
        var unexpected = tensors.Keys.Where(k => !shapes.ContainsKey(k) && tolerated?.Invoke(k) != true).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0) problems.Add($"unexpected tensors {string.Join(", ", unexpected.Take(8))}{(unexpected.Count > 8 ? $" and {unexpected.Count - 8} more" : "")}");
        var kept = new Dictionary<string, HostTensor>();
        foreach (var (name, shape) in shapes)
        {
            if (!tensors.TryGetValue(name, out var t)) problems.Add($"missing tensor '{name}'");
            else if (!t.Shape.SequenceEqual(shape)) problems.Add($"tensor '{name}' has shape {t.ShapeText}, expected [{string.Join(", ", shape)}]");
            else if (Array.FindIndex(t.Data, v => !float.IsFinite(v)) is int bad and >= 0) problems.Add($"tensor '{name}' holds a non-finite value at element {bad}");
            else kept[name] = t;
        }
        if (problems.Count > 0) throw new InvalidDataException($"{owner}: {string.Join("; ", problems)}.");
        return kept;
    }
}
