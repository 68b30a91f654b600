using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Training;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>Names, shapes and metadata as NVIDIA's Discriminator and our safetensors files have them; bad files and batches refused with the reason.</summary>
public sealed class DiscriminatorConfigTests
{
    [Theory]
    [InlineData(DiscriminatorFixture.Grey32)]
    [InlineData(DiscriminatorFixture.Rgb16)]
    public void ParameterNamesAndShapesAreNvidias(string fixture)
    {
        var f = DiscriminatorFixture.Get(fixture);
        var shapes = f.Weights.Config.ParameterShapes().ToList();
        Assert.Equal(f.Parameters, shapes.Select(p => p.Name));
        Assert.All(shapes, p => Assert.Equal(p.Shape, f.Weights[p.Name].Shape));
        // The file also holds every Conv2dLayer's and block's resample_filter buffer, which loading drops.
        Assert.Contains("b16.conv1.resample_filter", f.FileTensorNames);
        Assert.DoesNotContain(f.Weights.Tensors.Keys, k => k.EndsWith("resample_filter", StringComparison.Ordinal));
    }

    [Fact]
    public void ChannelsAndBlocksFollowChannelBase()
    {
        var c = new DiscriminatorConfig(ImgResolution: 256, ImgChannels: 3, ChannelBase: 16384, ChannelMax: 512);
        Assert.Equal([256, 128, 64, 32, 16, 8], c.BlockResolutions);
        Assert.Equal(64, c.Channels(256));
        Assert.Equal(128, c.Channels(128));
        Assert.Equal(512, c.Channels(32));
        Assert.Equal(512, c.Channels(4));
        var shapes = c.ParameterShapes().ToDictionary(p => p.Name, p => p.Shape);
        Assert.Equal([64, 3, 1, 1], shapes["b256.fromrgb.weight"]);
        Assert.Equal([128, 64, 3, 3], shapes["b256.conv1.weight"]);
        Assert.Equal([128, 64, 1, 1], shapes["b256.skip.weight"]);
        Assert.False(shapes.ContainsKey("b128.fromrgb.weight"));
        Assert.False(shapes.ContainsKey("b256.skip.bias"));
        Assert.Equal([512, 513, 3, 3], shapes["b4.conv.weight"]);
        Assert.Equal([512, 512 * 16], shapes["b4.fc.weight"]);
        Assert.Equal([1, 512], shapes["b4.out.weight"]);
    }

    [Fact]
    public void MetadataAndFileRoundTrip()
    {
        var config = new DiscriminatorConfig(ImgResolution: 16, ImgChannels: 3, ChannelBase: 64, ChannelMax: 8, ConvClamp: 256f, MbstdGroupSize: 2, MbstdNumChannels: 2);
        Assert.Equal(config, DiscriminatorConfig.FromMetadata(config.ToMetadata()));
        var weights = DiscriminatorWeights.Initialize(config, seed: 1);
        Assert.All(weights.Tensors.Where(t => t.Key.EndsWith(".bias", StringComparison.Ordinal)), t => Assert.All(t.Value.Data, v => Assert.Equal(0f, v)));
        var path = Path.Combine(Path.GetTempPath(), $"d-{Guid.NewGuid():N}.safetensors");
        try
        {
            weights.Save(path);
            var back = DiscriminatorWeights.Load(path);
            Assert.Equal(config, back.Config);
            Assert.All(weights.Tensors, t => Assert.Equal(t.Value.Data, back[t.Key].Data));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TrainedParametersComeBackAsWeights()
    {
        var f = DiscriminatorFixture.Get(DiscriminatorFixture.Rgb16);
        using var backend = Fidelity.FidelityBackends.Create(Fidelity.FidelityBackends.Selected[0]);
        using var d = new Discriminator(backend, f.Weights);
        var changed = f.Weights["b8.conv0.bias"].Data.Select(v => v + 1).ToArray();
        d.SetParameters(new Dictionary<string, float[]> { ["b8.conv0.bias"] = changed });
        var w = d.ToWeights();
        Assert.Equal(changed, w["b8.conv0.bias"].Data);
        Assert.Equal(f.Weights["b16.skip.weight"].Data, w["b16.skip.weight"].Data);
        Assert.NotEqual(f["logits"], d.Forward(f["inputs.img"], f.Batch));
        Assert.Throws<ArgumentException>(() => d.SetParameters(new Dictionary<string, float[]> { ["b8.skip.bias"] = [1f] }));
    }

    [Fact]
    public void BadFilesConfigsAndBatchesAreRefusedWithTheReason()
    {
        var generatorMeta = new Dictionary<string, string> { ["z_dim"] = "4", ["img_resolution"] = "16" };
        Assert.Contains("not a discriminator", Assert.Throws<InvalidDataException>(() => DiscriminatorConfig.FromMetadata(generatorMeta)).Message);
        Assert.Contains("c_dim", Assert.Throws<InvalidDataException>(() => new DiscriminatorConfig(16, 3, CDim: 2).Validate()).Message);
        Assert.Contains("architecture", Assert.Throws<InvalidDataException>(() => new DiscriminatorConfig(16, 3, Architecture: "skip").Validate()).Message);

        var f = DiscriminatorFixture.Get(DiscriminatorFixture.Rgb16);
        var tensors = f.Weights.Tensors.Where(t => t.Key != "b4.fc.bias").ToDictionary(t => t.Key, t => t.Value);
        tensors["b8.conv0.weight"] = new HostTensor([1, 2], [0f, 0f]);
        var message = Assert.Throws<InvalidDataException>(() => DiscriminatorWeights.FromTensors(f.Weights.Config, tensors)).Message;
        Assert.Contains("missing tensor 'b4.fc.bias'", message);
        Assert.Contains("'b8.conv0.weight' has shape [1, 2]", message);

        using var backend = Fidelity.FidelityBackends.Create(Fidelity.FidelityBackends.Selected[0]);
        using var d = new Discriminator(backend, f.Weights);
        // Groups of min(2, N): a batch of 3 does not split into groups of 2.
        Assert.Contains("divisible", Assert.Throws<ArgumentException>(() => d.Forward(new float[3 * 3 * 16 * 16], 3)).Message);
        Assert.Throws<ArgumentException>(() => d.Forward(new float[10], 1));
    }
}
