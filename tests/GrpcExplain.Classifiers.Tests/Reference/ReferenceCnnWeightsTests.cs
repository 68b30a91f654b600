using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;

namespace GrpcExplain.Classifiers.Tests.Reference;

public class ReferenceCnnWeightsTests
{
    [Fact]
    public void SavedWeightsLoadWithTheirArchitectureAndGiveTheSameLogits()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "reference.safetensors");
        var weights = TinyCnn.Weights(TinyCnn.Rgb, 31);
        weights.Save(path);
        Assert.Empty(Directory.GetFiles(folder.Path, "*.tmp"));
        var file = SafeTensors.Read(path);
        Assert.Equal("reference_cnn", file.Metadata!["network"]);
        Assert.Equal("3,4,5", file.Metadata["channels"]);
        Assert.Equal("[\"a\",\"b\",\"c\"]", file.Metadata["class_labels"]);

        var images = TinyCnn.Images(TinyCnn.Rgb, 2, 32);
        using var backend = Backends.Create("cpu");
        using var loaded = ReferenceCnn.Load(path, backend);
        using var original = new ReferenceCnn(backend, weights);
        Assert.Equal(TinyCnn.Rgb, loaded.Config);
        Assert.Equal(original.Logits(images, 2), loaded.Logits(images, 2));
    }

    [Fact]
    public void InitializationIsSeededAndUnitScale()
    {
        var config = new ReferenceCnnConfig(64, 3, ReferenceCnnConfig.DefaultChannels, ["0", "1"]);
        var a = ReferenceCnnWeights.Initialize(config, 5);
        Assert.Equal(a["conv2.weight"].Data, ReferenceCnnWeights.Initialize(config, 5)["conv2.weight"].Data);
        Assert.NotEqual(a["conv2.weight"].Data, ReferenceCnnWeights.Initialize(config, 6)["conv2.weight"].Data);
        var w = a["conv2.weight"].Data;
        double mean = w.Average(v => (double)v), std = Math.Sqrt(w.Average(v => (double)v * v) - mean * mean);
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(std, 0.97, 1.03);
        Assert.All(a["fc.bias"].Data, v => Assert.Equal(0f, v));
        Assert.Equal([128, 64, 3, 3], a["conv2.weight"].Shape);
        Assert.Equal([2, 128], a["fc.weight"].Shape);
        Assert.Equal(8, config.FeatureResolution);
        // The suggested network is small enough to commit: 241,090 parameters, under 1 MB as float32.
        Assert.Equal(241_090, a.Tensors.Values.Sum(t => t.Data.Length));
    }

    [Fact]
    public void LoadingNamesWhatIsWrong()
    {
        using var folder = new TempFolder();
        var good = TinyCnn.Weights(TinyCnn.Rgb, 1).Tensors;
        var meta = TinyCnn.Rgb.ToMetadata();

        string Write(string name, IEnumerable<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
        {
            string path = Path.Combine(folder.Path, name);
            SafeTensors.Write(path, tensors, metadata);
            return path;
        }
        string Message(string path) => Assert.Throws<InvalidDataException>(() => ReferenceCnnWeights.Load(path)).Message;

        var missing = Message(Write("missing.safetensors", good.Where(p => p.Key != "conv1.bias"), meta));
        Assert.Contains("missing.safetensors", missing);
        Assert.Contains("missing tensor 'conv1.bias'", missing);

        var shaped = good.ToDictionary(p => p.Key, p => p.Key == "fc.weight" ? new HostTensor([5, 3], new float[15]) : p.Value);
        Assert.Contains("tensor 'fc.weight' has shape [5, 3], expected [3, 5]", Message(Write("shape.safetensors", shaped, meta)));

        var extra = good.Append(new("conv3.weight", new HostTensor([1], [0f])));
        Assert.Contains("unexpected tensors conv3.weight", Message(Write("extra.safetensors", extra, meta)));

        var nan = good.ToDictionary(p => p.Key, p => p.Key == "conv0.bias" ? new HostTensor([3], [0f, float.NaN, 0f]) : p.Value);
        Assert.Contains("'conv0.bias' holds a non-finite value at element 1", Message(Write("nan.safetensors", nan, meta)));

        var generator = new Dictionary<string, string>(meta) { ["network"] = "generator" };
        Assert.Contains("not a reference CNN (metadata 'network' is 'generator'", Message(Write("gen.safetensors", good, generator)));
        Assert.Contains("no __metadata__", Message(Write("nometa.safetensors", good, null)));
        var noChannels = meta.Where(p => p.Key != "channels").ToDictionary();
        Assert.Contains("'channels' is missing", Message(Write("nochannels.safetensors", good, noChannels)));
        var wrongCount = new Dictionary<string, string>(meta) { ["num_classes"] = "2" };
        Assert.Contains("num_classes is 2 but class_labels names 3", Message(Write("count.safetensors", good, wrongCount)));

        Assert.Throws<FileNotFoundException>(() => ReferenceCnnWeights.Load(Path.Combine(folder.Path, "none.safetensors")));
    }

    [Fact]
    public void ConfigurationsThatCannotBeBuiltAreRefused()
    {
        string Message(ReferenceCnnConfig c) => Assert.Throws<InvalidDataException>(c.Validate).Message;
        Assert.Contains("divisible by 2^3 = 8", Message(new ReferenceCnnConfig(60, 3, [8, 8, 8, 8], ["a", "b"])));
        Assert.Contains("img_channels must be 1 (grey) or 3 (RGB), got 2", Message(new ReferenceCnnConfig(64, 2, [8], ["a", "b"])));
        Assert.Contains("at least 2 class labels", Message(new ReferenceCnnConfig(64, 3, [8], ["a"])));
        Assert.Contains("distinct", Message(new ReferenceCnnConfig(64, 3, [8], ["a", "a"])));
        Assert.Contains("at least one layer", Message(new ReferenceCnnConfig(64, 3, [], ["a", "b"])));
    }
}
