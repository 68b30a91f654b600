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

    public static GeneratorWeights Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        var file = SafeTensors.Read(path);
        try
        {
            return FromTensors(GeneratorConfig.FromMetadata(file.Metadata), file.Tensors);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static GeneratorWeights FromTensors(GeneratorConfig config, IReadOnlyDictionary<string, HostTensor> tensors)
    {
        config.Validate();
        var expected = config.ParameterShapes().ToList();
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

    public void Save(string path) =>
        SafeTensors.Write(path, Config.ParameterShapes().Select(p => new KeyValuePair<string, HostTensor>(p.Name, Tensors[p.Name])), Config.ToMetadata());

    private static string Quote(IEnumerable<string> names)
    {
        var list = names.ToList();
        var shown = string.Join(", ", list.Take(8).Select(n => $"'{n}'"));
        return list.Count > 8 ? $"{shown} and {list.Count - 8} more" : shown;
    }
}
