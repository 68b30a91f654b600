using GrpcExplain.Kernels;
using System.Buffers.Binary;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Weights;

/// <summary>Loading checks everything and names the tensor: the failures a hospital's converted file can have.</summary>
public sealed class GeneratorWeightsTests : IDisposable
{
    private static readonly GeneratorConfig Config = new(ZDim: 8, CDim: 0, WDim: 8, ImgResolution: 8, ImgChannels: 1, MappingLayers: 2, ChannelBase: 32, ChannelMax: 4);
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, HostTensor> Random(GeneratorConfig config, int seed = 1)
    {
        var rng = new Random(seed);
        return config.TensorShapes().ToDictionary(p => p.Name,
            p => new HostTensor(p.Shape, [.. Enumerable.Range(0, (int)HostTensor.Count(p.Shape)).Select(_ => (float)rng.NextDouble() - 0.5f)]));
    }

    private string Save(Dictionary<string, HostTensor> tensors, IReadOnlyDictionary<string, string>? meta = null)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.safetensors");
        SafeTensors.Write(path, tensors, meta ?? Config.ToMetadata());
        return path;
    }

    private static string LoadError(string path) => Assert.Throws<InvalidDataException>(() => GeneratorWeights.Load(path)).Message;

    [Fact]
    public void SavedWeightsLoadBackWithTheSameHash()
    {
        var tensors = Random(Config);
        tensors["synthesis.b4.resample_filter"] = new HostTensor([4, 4], new float[16]); // accepted, dropped
        var loaded = GeneratorWeights.Load(Save(tensors));
        Assert.Equal(Config, loaded.Config);
        Assert.Equal(tensors["mapping.fc1.weight"].Data, loaded["mapping.fc1.weight"].Data);
        Assert.False(loaded.Tensors.ContainsKey("synthesis.b4.resample_filter"));
        var again = Path.Combine(_dir, "again.safetensors");
        loaded.Save(again);
        Assert.Equal(loaded.ContentHash, GeneratorWeights.Load(again).ContentHash);
        Assert.NotEqual(loaded.ContentHash, GeneratorWeights.FromTensors(Config, Random(Config, seed: 2)).ContentHash);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        var t = Random(Config);
        t.Remove("synthesis.b8.conv0.noise_strength");
        Assert.Contains("missing tensor 'synthesis.b8.conv0.noise_strength'", LoadError(Save(t)), StringComparison.Ordinal);
    }

    [Fact]
    public void UnexpectedTensorIsNamed()
    {
        var t = Random(Config);
        t["synthesis.b8.skip.weight"] = new HostTensor([1], [0f]);
        Assert.Contains("unexpected tensor 'synthesis.b8.skip.weight'", LoadError(Save(t)), StringComparison.Ordinal);
    }

    [Fact]
    public void WrongShapeIsNamed()
    {
        var t = Random(Config);
        t["mapping.fc0.weight"] = new HostTensor([8, 9], new float[72]);
        Assert.Contains("tensor 'mapping.fc0.weight' has shape [8, 9], expected [8, 8]", LoadError(Save(t)), StringComparison.Ordinal);
    }

    [Fact]
    public void NonFiniteValueIsNamed()
    {
        var t = Random(Config);
        t["synthesis.b4.const"].Data[5] = float.NaN;
        Assert.Contains("tensor 'synthesis.b4.const' holds a non-finite value", LoadError(Save(t)), StringComparison.Ordinal);
    }

    [Fact]
    public void OtherDtypeIsNamed()
    {
        var path = Save(Random(Config));
        var bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        // Same byte length: F32 -> F16 for the first tensor's entry only.
        int at = header.IndexOf("\"mapping.fc0.weight\":{\"dtype\":\"F32\"", StringComparison.Ordinal);
        Assert.True(at >= 0, header);
        var patched = header[..at] + "\"mapping.fc0.weight\":{\"dtype\":\"F16\"" + header[(at + "\"mapping.fc0.weight\":{\"dtype\":\"F32\"".Length)..];
        System.Text.Encoding.UTF8.GetBytes(patched).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("tensor 'mapping.fc0.weight' is F16; only F32", LoadError(path), StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedFileIsNamed()
    {
        var path = Save(Random(Config));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 10)]);
        Assert.Contains("truncated", LoadError(path), StringComparison.Ordinal);
        File.WriteAllBytes(path, bytes[..20]);
        Assert.Contains("truncated", LoadError(path), StringComparison.Ordinal);
        File.WriteAllBytes(path, bytes[..4]);
        Assert.Contains("not a safetensors file", LoadError(path), StringComparison.Ordinal);
    }

    [Fact]
    public void WrongMetadataIsNamedWithTheFile()
    {
        var meta = Config.ToMetadata().ToDictionary();
        meta["mapping_layers"] = "3";
        var path = Save(Random(Config), meta);
        var message = LoadError(path);
        Assert.Contains(path, message, StringComparison.Ordinal);
        Assert.Contains("missing tensors 'mapping.fc2.weight', 'mapping.fc2.bias'", message, StringComparison.Ordinal);
    }
}
