using GrpcExplain.StyleGan.Training;

namespace GrpcExplain.Training.Gan;

/// <summary>
/// One network's trainable parameters as host arrays in a fixed name order, with the Adam that steps
/// them: the optimiser works on these copies, and the network gets them back after each step.
/// </summary>
internal sealed class ParameterSet
{
    public ParameterSet(IReadOnlyList<string> names, IReadOnlyDictionary<string, float[]> values, double beta1, double beta2)
    {
        Names = names;
        Values = [.. names.Select(n => (float[])values[n].Clone())];
        Adam = new Adam(Values, beta1, beta2);
    }

    public IReadOnlyList<string> Names { get; }

    public float[][] Values { get; }

    public Adam Adam { get; }

    public IReadOnlyDictionary<string, float[]> ByName => Names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => Values[p.i], StringComparer.Ordinal);

    /// <summary>
    /// One Adam step on the summed gradients (a name missing from all of them has gradient 0, as a
    /// parameter the loss does not reach), after NVIDIA's nan_to_num(nan 0, ±inf ±1e5).
    /// </summary>
    public void Step(double lr, params IReadOnlyDictionary<string, float[]>[] gradients)
    {
        var summed = new float[Names.Count][];
        for (int k = 0; k < Names.Count; k++)
        {
            var g = new float[Values[k].Length];
            foreach (var part in gradients)
            {
                if (!part.TryGetValue(Names[k], out var v)) continue;
                if (v.Length != g.Length) throw new InvalidOperationException($"The gradient of '{Names[k]}' holds {v.Length} values for a parameter of {g.Length}.");
                for (int i = 0; i < g.Length; i++) g[i] += v[i];
            }
            for (int i = 0; i < g.Length; i++)
                if (!float.IsFinite(g[i])) g[i] = float.IsNaN(g[i]) ? 0f : g[i] > 0 ? 1e5f : -1e5f;
            summed[k] = g;
        }
        Adam.Step(lr, summed);
    }

    /// <summary>Every gradient scaled by <paramref name="factor"/>, as a new dictionary.</summary>
    public static Dictionary<string, float[]> Scale(IReadOnlyDictionary<string, float[]> gradients, float factor) =>
        gradients.ToDictionary(p => p.Key, p => p.Value.Select(v => v * factor).ToArray(), StringComparer.Ordinal);
}
