using GrpcExplain.Kernels;
using System.Security.Cryptography;

namespace GrpcExplain.StyleGan.Weights;

/// <summary>
/// A generator's parameters by stylegan2-ada-pytorch name, checked against its configuration: every
/// tensor present with its shape, nothing unexpected (the resample_filter buffers are accepted and
/// dropped), all finite.
/// </summary>
public sealed class GeneratorWeights
{
    private GeneratorWeights(GeneratorConfig config, IReadOnlyDictionary<string, HostTensor> tensors, string contentHash)
    {
        Config = config;
        Tensors = tensors;
        ContentHash = contentHash;
    }

    public GeneratorConfig Config { get; }
    public IReadOnlyDictionary<string, HostTensor> Tensors { get; }

    /// <summary>SHA-256 of the parameters in a fixed order with the configuration: the same weights give the same hash.</summary>
    public string ContentHash { get; }

    public HostTensor this[string name] => Tensors.TryGetValue(name, out var t) ? t
        : throw new KeyNotFoundException($"The generator has no tensor '{name}'.");

    public static GeneratorWeights Load(string path) =>
        SafeTensors.Load(path, $"Weights file '{path}' does not exist.", file => FromTensors(GeneratorConfig.FromMetadata(file.Metadata), file.Tensors));

    public static GeneratorWeights FromTensors(GeneratorConfig config, IReadOnlyDictionary<string, HostTensor> tensors)
    {
        config.Validate();
        var expected = config.TensorShapes().ToList();
        var names = expected.Select(e => e.Name).ToHashSet();
        var unexpected = tensors.Keys.Where(k => !names.Contains(k) && !GeneratorConfig.IsIgnoredBuffer(k)).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new InvalidDataException($"unexpected tensor{(unexpected.Count > 1 ? "s" : "")} {Quote(unexpected)} for a {config.ImgResolution}x{config.ImgResolution} " +
                $"'{config.Architecture}' generator with c_dim {config.CDim} and {config.MappingLayers} mapping layers (is the metadata right?).");
        var missing = expected.Where(e => !tensors.ContainsKey(e.Name)).Select(e => e.Name).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"missing tensor{(missing.Count > 1 ? "s" : "")} {Quote(missing)}.");
        var kept = new Dictionary<string, HostTensor>();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (k, v) in config.ToMetadata().OrderBy(p => p.Key, StringComparer.Ordinal)) sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{k}={v};"));
        foreach (var (name, shape) in expected)
        {
            var t = tensors[name];
            if (!t.Shape.SequenceEqual(shape))
                throw new InvalidDataException($"tensor '{name}' has shape {t.ShapeText}, expected [{string.Join(", ", shape)}].");
            int bad = Array.FindIndex(t.Data, v => !float.IsFinite(v));
            if (bad >= 0) throw new InvalidDataException($"tensor '{name}' holds a non-finite value ({t.Data[bad]}) at element {bad}.");
            kept[name] = t;
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Data.AsSpan()));
        }
        return new GeneratorWeights(config, kept, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    /// <summary>
    /// A new generator as stylegan2-ada-pytorch initialises one, deterministic for a seed: weights,
    /// the constant input and the noise_const buffers N(0, 1) (the equalized-lr gains come at run time;
    /// the mapping's weights are stored divided by its learning-rate multiplier 0.01, as
    /// FullyConnectedLayer stores them, so they act as N(0, 1)); biases 0 except the affine layers' 1
    /// (styles start at 1); noise strengths 0; w_avg 0. Values are drawn in <see cref="GeneratorConfig.TensorShapes"/> order.
    /// </summary>
    public static GeneratorWeights Initialize(GeneratorConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var rng = new Random(seed);
        var tensors = new Dictionary<string, HostTensor>();
        foreach (var (name, shape) in config.TensorShapes())
        {
            int count = checked((int)HostTensor.Count(shape));
            float[] data = name.EndsWith(".affine.bias", StringComparison.Ordinal) ? [.. Enumerable.Repeat(1f, count)]
                : name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith(".noise_strength", StringComparison.Ordinal) || name == "mapping.w_avg" ? new float[count]
                : name.StartsWith("mapping.fc", StringComparison.Ordinal) ? [.. SynthesisNetwork.Gaussian(rng, count).Select(v => v / MappingNetwork.LrMul)]
                : SynthesisNetwork.Gaussian(rng, count);
            tensors[name] = new HostTensor(shape, data);
        }
        return FromTensors(config, tensors);
    }

    /// <summary>A safetensors file with the architecture in its __metadata__, as <see cref="Load"/> reads it; written beside and renamed, so a crash leaves no half-written file.</summary>
    public void Save(string path) =>
        SafeTensors.Write(path, Config.TensorShapes().Select(p => new KeyValuePair<string, HostTensor>(p.Name, Tensors[p.Name])), Config.ToMetadata());

    private static string Quote(IEnumerable<string> names)
    {
        var list = names.ToList();
        var shown = string.Join(", ", list.Take(8).Select(n => $"'{n}'"));
        return list.Count > 8 ? $"{shown} and {list.Count - 8} more" : shown;
    }
}
