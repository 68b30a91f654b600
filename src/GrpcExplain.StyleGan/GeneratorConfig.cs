using System.Globalization;
using System.Numerics;

namespace GrpcExplain.StyleGan;

/// <summary>
/// A StyleGAN2 generator's architecture, as stylegan2-ada-pytorch's Generator(z_dim, c_dim, w_dim,
/// img_resolution, img_channels, mapping_kwargs, synthesis_kwargs) defines it; stored as string
/// values in the weights file's safetensors <c>__metadata__</c>.
/// </summary>
public sealed record GeneratorConfig(
    int ZDim, int CDim, int WDim, int ImgResolution, int ImgChannels,
    int MappingLayers = 8, int ChannelBase = 32768, int ChannelMax = 512, float? ConvClamp = null, string Architecture = "skip")
{
    public static IReadOnlyList<string> SupportedArchitectures { get; } = ["skip"];

    /// <summary>log2 of the resolution; resolutions 4 … 1024 that are powers of two.</summary>
    public int ResolutionLog2 => BitOperations.Log2((uint)ImgResolution);

    /// <summary>One w per synthesis layer: conv1 of block 4, two convs per later block, and the last ToRGB.</summary>
    public int NumWs => 2 * ResolutionLog2 - 2;

    public IReadOnlyList<int> BlockResolutions => [.. Enumerable.Range(2, ResolutionLog2 - 1).Select(i => 1 << i)];

    /// <summary>channels(res) = min(channel_base / res, channel_max).</summary>
    public int Channels(int resolution) => Math.Min(ChannelBase / resolution, ChannelMax);

    /// <summary>The class embedding's width (w_dim when conditional, else 0), as MappingNetwork chooses it.</summary>
    public int EmbedFeatures => CDim > 0 ? WDim : 0;

    /// <summary>Throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new InvalidDataException($"Generator configuration: {message}");
        }
        Require(ZDim >= 0 && CDim >= 0 && ZDim + CDim > 0, $"z_dim ({ZDim}) and c_dim ({CDim}) must be non-negative and not both 0.");
        Require(WDim > 0, $"w_dim must be positive, got {WDim}.");
        Require(ImgResolution >= 4 && ImgResolution <= 1024 && BitOperations.IsPow2(ImgResolution), $"img_resolution must be a power of two from 4 to 1024, got {ImgResolution}.");
        Require(ImgChannels > 0, $"img_channels must be positive, got {ImgChannels}.");
        Require(MappingLayers > 0, $"mapping_layers must be positive, got {MappingLayers}.");
        Require(ChannelBase > 0 && ChannelMax > 0, $"channel_base ({ChannelBase}) and channel_max ({ChannelMax}) must be positive.");
        Require(BlockResolutions.All(r => Channels(r) > 0), $"channel_base {ChannelBase} leaves no channels at {ImgResolution}x{ImgResolution}.");
        Require(ConvClamp is null || ConvClamp > 0, $"conv_clamp must be positive or None, got {ConvClamp}.");
        Require(SupportedArchitectures.Contains(Architecture),
            $"unsupported architecture '{Architecture}'; supported: {string.Join(", ", SupportedArchitectures)}.");
    }

    /// <summary>
    /// Every parameter and buffer the generator reads, with stylegan2-ada-pytorch's names and shapes
    /// (G.state_dict(), without the resample_filter buffers, which hold the fixed [1,3,3,1] filter):
    /// what a weights file holds.
    /// </summary>
    public IEnumerable<(string Name, int[] Shape)> TensorShapes()
    {
        if (CDim > 0)
        {
            yield return ("mapping.embed.weight", [EmbedFeatures, CDim]);
            yield return ("mapping.embed.bias", [EmbedFeatures]);
        }
        for (int l = 0; l < MappingLayers; l++)
        {
            int inF = l == 0 ? ZDim + EmbedFeatures : WDim;
            yield return ($"mapping.fc{l}.weight", [WDim, inF]);
            yield return ($"mapping.fc{l}.bias", [WDim]);
        }
        yield return ("mapping.w_avg", [WDim]);
        foreach (int res in BlockResolutions)
        {
            string b = $"synthesis.b{res}";
            int outC = Channels(res);
            if (res == 4) yield return ($"{b}.const", [outC, 4, 4]);
            else foreach (var p in Layer($"{b}.conv0", Channels(res / 2), outC, 3, res, noise: true)) yield return p;
            foreach (var p in Layer($"{b}.conv1", outC, outC, 3, res, noise: true)) yield return p;
            foreach (var p in Layer($"{b}.torgb", outC, ImgChannels, 1, res, noise: false)) yield return p;
        }
    }

    /// <summary>
    /// The trainable parameters (G.named_parameters()), in <see cref="TensorShapes"/>' order: everything
    /// but the buffers mapping.w_avg (a moving average of w, not a gradient step) and the noise_const maps.
    /// </summary>
    public IReadOnlyList<(string Name, int[] Shape)> ParameterShapes() => [.. TensorShapes().Where(p => !IsBuffer(p.Name))];

    /// <summary>mapping.w_avg and the noise_const maps: saved with the weights, never trained by gradient.</summary>
    public static bool IsBuffer(string name) => name == "mapping.w_avg" || name.EndsWith(".noise_const", StringComparison.Ordinal);

    private IEnumerable<(string, int[])> Layer(string name, int inC, int outC, int k, int res, bool noise)
    {
        yield return ($"{name}.affine.weight", [inC, WDim]);
        yield return ($"{name}.affine.bias", [inC]);
        yield return ($"{name}.weight", [outC, inC, k, k]);
        yield return ($"{name}.bias", [outC]);
        if (!noise) yield break;
        yield return ($"{name}.noise_const", [res, res]);
        yield return ($"{name}.noise_strength", []);
    }

    /// <summary>Buffers a file may carry that the generator does not read (the fixed FIR filter).</summary>
    public static bool IsIgnoredBuffer(string name) => name.EndsWith(".resample_filter", StringComparison.Ordinal);

    public IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>
    {
        ["z_dim"] = I(ZDim), ["c_dim"] = I(CDim), ["w_dim"] = I(WDim),
        ["img_resolution"] = I(ImgResolution), ["img_channels"] = I(ImgChannels),
        ["mapping_layers"] = I(MappingLayers), ["channel_base"] = I(ChannelBase), ["channel_max"] = I(ChannelMax),
        ["conv_clamp"] = ConvClamp is { } c ? c.ToString("R", CultureInfo.InvariantCulture) : "None",
        ["architecture"] = Architecture,
    };

    /// <summary>Reads the safetensors metadata; a missing or malformed key is named in the error.</summary>
    public static GeneratorConfig FromMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null) throw new InvalidDataException("The weights file has no __metadata__: the generator's architecture (z_dim, w_dim, img_resolution, ...) is missing.");
        int Int(string key)
        {
            if (!metadata.TryGetValue(key, out var v)) throw new InvalidDataException($"Generator metadata: '{key}' is missing.");
            if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x))
                throw new InvalidDataException($"Generator metadata: '{key}' must be an integer, got '{v}'.");
            return x;
        }
        float? clamp = null;
        if (metadata.TryGetValue("conv_clamp", out var cc) && cc != "None" && cc != "null" && cc.Length > 0)
            clamp = float.TryParse(cc, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) ? f
                : throw new InvalidDataException($"Generator metadata: 'conv_clamp' must be a number or None, got '{cc}'.");
        var config = new GeneratorConfig(Int("z_dim"), Int("c_dim"), Int("w_dim"), Int("img_resolution"), Int("img_channels"),
            Int("mapping_layers"), Int("channel_base"), Int("channel_max"), clamp,
            metadata.TryGetValue("architecture", out var a) ? a : throw new InvalidDataException("Generator metadata: 'architecture' is missing."));
        config.Validate();
        return config;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
