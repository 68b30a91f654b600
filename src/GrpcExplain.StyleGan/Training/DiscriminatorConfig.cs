using System.Globalization;
using System.Numerics;

namespace GrpcExplain.StyleGan.Training;

/// <summary>
/// A StyleGAN2 discriminator's architecture, as stylegan2-ada-pytorch's Discriminator(c_dim,
/// img_resolution, img_channels, architecture, channel_base, channel_max, conv_clamp,
/// epilogue_kwargs=dict(mbstd_group_size, mbstd_num_channels)) defines it; stored as string values in
/// the weights file's safetensors <c>__metadata__</c>, with <c>network</c> = <c>discriminator</c>.
/// </summary>
public sealed record DiscriminatorConfig(
    int ImgResolution, int ImgChannels, int CDim = 0, int ChannelBase = 32768, int ChannelMax = 512, float? ConvClamp = null,
    string Architecture = "resnet", int MbstdGroupSize = 4, int MbstdNumChannels = 1)
{
    public const string NetworkName = "discriminator";

    public static IReadOnlyList<string> SupportedArchitectures { get; } = ["resnet"];

    public int ResolutionLog2 => BitOperations.Log2((uint)ImgResolution);

    /// <summary>The blocks from the image down: img_resolution, …, 8 (b4 is the epilogue).</summary>
    public IReadOnlyList<int> BlockResolutions => [.. Enumerable.Range(3, ResolutionLog2 - 2).Reverse().Select(i => 1 << i)];

    /// <summary>channels(res) = min(channel_base / res, channel_max).</summary>
    public int Channels(int resolution) => Math.Min(ChannelBase / resolution, ChannelMax);

    /// <summary>Throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new InvalidDataException($"Discriminator configuration: {message}");
        }
        Require(ImgResolution >= 8 && ImgResolution <= 1024 && BitOperations.IsPow2(ImgResolution), $"img_resolution must be a power of two from 8 to 1024, got {ImgResolution}.");
        Require(ImgChannels > 0, $"img_channels must be positive, got {ImgChannels}.");
        Require(CDim == 0, $"c_dim {CDim}: conditional discriminators (the class mapping and its projection) are not implemented; c_dim must be 0.");
        Require(ChannelBase > 0 && ChannelMax > 0, $"channel_base ({ChannelBase}) and channel_max ({ChannelMax}) must be positive.");
        Require(Channels(ImgResolution) > 0, $"channel_base {ChannelBase} leaves no channels at {ImgResolution}x{ImgResolution}.");
        Require(ConvClamp is null || ConvClamp > 0, $"conv_clamp must be positive or None, got {ConvClamp}.");
        Require(SupportedArchitectures.Contains(Architecture),
            $"unsupported architecture '{Architecture}'; supported: {string.Join(", ", SupportedArchitectures)}.");
        Require(MbstdGroupSize >= 1, $"mbstd_group_size must be at least 1, got {MbstdGroupSize}.");
        Require(MbstdNumChannels >= 0 && (MbstdNumChannels == 0 || Channels(4) % MbstdNumChannels == 0),
            $"mbstd_num_channels ({MbstdNumChannels}) must be 0 or divide the {Channels(4)} channels at 4x4.");
    }

    /// <summary>
    /// Every parameter, with stylegan2-ada-pytorch's names and shapes (D.named_parameters(); the
    /// resample_filter buffers, which hold the fixed [1,3,3,1] filter, are not listed).
    /// </summary>
    public IEnumerable<(string Name, int[] Shape)> ParameterShapes()
    {
        foreach (int res in BlockResolutions)
        {
            string b = $"b{res}";
            int tmp = Channels(res), outC = Channels(res / 2);
            if (res == ImgResolution)
            {
                yield return ($"{b}.fromrgb.weight", [tmp, ImgChannels, 1, 1]);
                yield return ($"{b}.fromrgb.bias", [tmp]);
            }
            yield return ($"{b}.conv0.weight", [tmp, tmp, 3, 3]);
            yield return ($"{b}.conv0.bias", [tmp]);
            yield return ($"{b}.conv1.weight", [outC, tmp, 3, 3]);
            yield return ($"{b}.conv1.bias", [outC]);
            yield return ($"{b}.skip.weight", [outC, tmp, 1, 1]);
        }
        int c = Channels(4);
        yield return ("b4.conv.weight", [c, c + MbstdNumChannels, 3, 3]);
        yield return ("b4.conv.bias", [c]);
        yield return ("b4.fc.weight", [c, c * 16]);
        yield return ("b4.fc.bias", [c]);
        yield return ("b4.out.weight", [1, c]);
        yield return ("b4.out.bias", [1]);
    }

    public IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>
    {
        ["network"] = NetworkName,
        ["c_dim"] = I(CDim), ["img_resolution"] = I(ImgResolution), ["img_channels"] = I(ImgChannels),
        ["channel_base"] = I(ChannelBase), ["channel_max"] = I(ChannelMax),
        ["conv_clamp"] = ConvClamp is { } c ? c.ToString("R", CultureInfo.InvariantCulture) : "None",
        ["architecture"] = Architecture,
        ["mbstd_group_size"] = I(MbstdGroupSize), ["mbstd_num_channels"] = I(MbstdNumChannels),
    };

    /// <summary>Reads the safetensors metadata; a missing or malformed key is named in the error.</summary>
    public static DiscriminatorConfig FromMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null) throw new InvalidDataException("The weights file has no __metadata__: the discriminator's architecture is missing.");
        if (!metadata.TryGetValue("network", out var network) || network != NetworkName)
            throw new InvalidDataException($"The weights file is not a discriminator (metadata 'network' is '{network ?? "missing"}', expected '{NetworkName}').");
        string Text(string key) => metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"Discriminator metadata: '{key}' is missing.");
        int Int(string key) => int.TryParse(Text(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x
            : throw new InvalidDataException($"Discriminator metadata: '{key}' must be an integer, got '{Text(key)}'.");
        string cc = Text("conv_clamp");
        float? clamp = cc is "None" or "null" or "" ? null
            : float.TryParse(cc, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) ? f
            : throw new InvalidDataException($"Discriminator metadata: 'conv_clamp' must be a number or None, got '{cc}'.");
        var config = new DiscriminatorConfig(Int("img_resolution"), Int("img_channels"), Int("c_dim"), Int("channel_base"), Int("channel_max"),
            clamp, Text("architecture"), Int("mbstd_group_size"), Int("mbstd_num_channels"));
        config.Validate();
        return config;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
