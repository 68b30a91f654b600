using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan;

/// <summary>
/// What GAN training needs of the generator beyond synthesis: its parameters in and out by name, and
/// the mapping network's parameter gradients (the synthesis ones come from
/// <see cref="SynthesisPass.ParameterBackward"/>).
/// </summary>
public sealed partial class Generator
{
    private const string WAvg = "mapping.w_avg";

    /// <summary>
    /// Host copies of every trainable parameter (<see cref="GeneratorConfig.ParameterShapes"/>) and of the
    /// buffer mapping.w_avg, which training keeps as a moving average of w.
    /// </summary>
    public Dictionary<string, float[]> GetParameters()
    {
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, _) in Config.ParameterShapes()) values[name] = Owner(name).Read(name);
        values[WAvg] = _mapping.Read(WAvg);
        return values;
    }

    /// <summary>
    /// Overwrites any subset of what <see cref="GetParameters"/> returns (after an optimiser step, or
    /// only w_avg). Every name and length is checked, and every value finite, before anything changes.
    /// </summary>
    public void SetParameters(IReadOnlyDictionary<string, float[]> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var shapes = Settable();
        foreach (var (name, data) in values)
        {
            if (!shapes.TryGetValue(name, out var shape))
                throw new ArgumentException(GeneratorConfig.IsBuffer(name) && name != WAvg
                    ? $"SetParameters: '{name}' is a fixed buffer, not a parameter; it cannot be set."
                    : $"SetParameters: the generator has no parameter '{name}'; it has {Listed(shapes.Keys)} (GeneratorConfig.ParameterShapes() and {WAvg}).", nameof(values));
            if (data is null) throw new ArgumentException($"SetParameters: no values for '{name}'.", nameof(values));
            long count = HostTensor.Count(shape);
            if (data.Length != count)
                throw new ArgumentException($"SetParameters: '{name}' takes {count} values ([{string.Join(", ", shape)}]), got {data.Length}.", nameof(values));
            int bad = Array.FindIndex(data, v => !float.IsFinite(v));
            if (bad >= 0) throw new ArgumentException($"SetParameters: '{name}' holds a non-finite value ({data[bad]}) at element {bad}.", nameof(values));
        }
        foreach (var (name, data) in values) Owner(name).Write(name, data);
        if (values.Count > 0) _weights = null;
    }

    /// <summary>
    /// Everything a weights file holds, as the generator now computes with it: the parameters, w_avg,
    /// and the noise_const buffers (never changed). To save or export a trained generator (G_ema).
    /// </summary>
    public GeneratorWeights ToWeights()
    {
        var current = GetParameters();
        return GeneratorWeights.FromTensors(Config, Config.TensorShapes().ToDictionary(p => p.Name,
            p => current.TryGetValue(p.Name, out var v) ? new HostTensor(p.Shape, v) : _loaded[p.Name]));
    }

    /// <summary>
    /// dL/d(every mapping parameter), by name, from dL/dws [N, num_ws, w_dim] of ws that
    /// <see cref="Map"/> made from z (and c) with psi 1: the layers' gradients are summed, as every
    /// layer read the same w. Under style mixing the caller zeroes the layers this z did not feed.
    /// </summary>
    public IReadOnlyDictionary<string, float[]> MappingParameterGradient(float[] z, int batch, float[] dWs, float[]? c = null)
    {
        var parameters = new Dictionary<string, float[]>(StringComparer.Ordinal);
        MappingBackward(z, batch, dWs, c, truncationPsi: 1f, truncationCutoff: null, parameters);
        return parameters;
    }

    private static string Listed(Dictionary<string, int[]>.KeyCollection names) =>
        names.Count <= 8 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(6))}, ... ({names.Count} in all)";

    private Network Owner(string name) => name.StartsWith("mapping.", StringComparison.Ordinal) ? _mapping : _synthesis;

    private Dictionary<string, int[]> Settable()
    {
        var shapes = Config.ParameterShapes().ToDictionary(p => p.Name, p => p.Shape, StringComparer.Ordinal);
        shapes[WAvg] = [Config.WDim];
        return shapes;
    }
}
