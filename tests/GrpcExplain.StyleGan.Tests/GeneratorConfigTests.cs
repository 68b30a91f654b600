namespace GrpcExplain.StyleGan.Tests;

public class GeneratorConfigTests
{
    [Theory]
    [InlineData(4, 2)]
    [InlineData(32, 8)]
    [InlineData(256, 14)]
    [InlineData(1024, 18)]
    public void NumWsIsTwoLog2ResolutionMinusTwo(int resolution, int numWs) =>
        Assert.Equal(numWs, new GeneratorConfig(512, 0, 512, resolution, 3).NumWs);

    [Fact]
    public void ParameterNamesAndShapesFollowStyleGan2AdaPytorch()
    {
        var config = new GeneratorConfig(ZDim: 32, CDim: 2, WDim: 16, ImgResolution: 8, ImgChannels: 1, MappingLayers: 2, ChannelBase: 64, ChannelMax: 12);
        var shapes = config.TensorShapes().ToDictionary(p => p.Name, p => p.Shape);
        Assert.Equal([16, 2], shapes["mapping.embed.weight"]);
        Assert.Equal([16, 48], shapes["mapping.fc0.weight"]); // z_dim + embed features
        Assert.Equal([16, 16], shapes["mapping.fc1.weight"]);
        Assert.Equal([12, 4, 4], shapes["synthesis.b4.const"]);      // min(64/4, 12)
        Assert.Equal([8, 12, 3, 3], shapes["synthesis.b8.conv0.weight"]); // min(64/8, 12) = 8 from 12
        Assert.Equal([12, 16], shapes["synthesis.b8.conv0.affine.weight"]);
        Assert.Equal([8, 8], shapes["synthesis.b8.conv1.noise_const"]);
        Assert.Equal([], shapes["synthesis.b8.conv1.noise_strength"]);
        Assert.Equal([1, 8, 1, 1], shapes["synthesis.b8.torgb.weight"]);
        Assert.False(shapes.ContainsKey("synthesis.b4.conv0.weight"));
        Assert.Equal(2 + 4 + 1 + 1 + 6 + 4 + 6 + 6 + 4, shapes.Count);
    }

    [Fact]
    public void MetadataRoundTrips()
    {
        var config = new GeneratorConfig(64, 0, 64, 32, 1, 4, 1024, 64, 256f);
        Assert.Equal(config, GeneratorConfig.FromMetadata(config.ToMetadata()));
        Assert.Equal("None", (config with { ConvClamp = null }).ToMetadata()["conv_clamp"]);
    }

    [Theory]
    [InlineData("img_resolution", "48", "power of two")]
    [InlineData("architecture", "resnet", "supported: skip")]
    [InlineData("w_dim", "x", "'w_dim' must be an integer")]
    [InlineData("conv_clamp", "big", "conv_clamp")]
    public void BadMetadataIsNamed(string key, string value, string expected)
    {
        var meta = new GeneratorConfig(64, 0, 64, 32, 1).ToMetadata().ToDictionary();
        meta[key] = value;
        var e = Assert.Throws<InvalidDataException>(() => GeneratorConfig.FromMetadata(meta));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingMetadataIsNamed()
    {
        var meta = new GeneratorConfig(64, 0, 64, 32, 1).ToMetadata().ToDictionary();
        meta.Remove("z_dim");
        Assert.Contains("'z_dim' is missing", Assert.Throws<InvalidDataException>(() => GeneratorConfig.FromMetadata(meta)).Message, StringComparison.Ordinal);
        Assert.Contains("no __metadata__", Assert.Throws<InvalidDataException>(() => GeneratorConfig.FromMetadata(null)).Message, StringComparison.Ordinal);
    }
}
