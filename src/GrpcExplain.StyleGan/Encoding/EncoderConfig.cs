using System.Globalization;
using GrpcExplain.Kernels.Networks;

namespace GrpcExplain.StyleGan.Encoding;

/// <summary>
/// A generator's encoder: image [C, res, res] in [-1, 1] → w [w_dim], a <see cref="ConvNet"/> whose
/// convolutions (<see cref="Channels"/>, each but the last followed by 2x2 pooling) feed their flattened
/// last map to one fully connected layer. It predicts w − w_avg in units of <see cref="WScale"/>, the
/// spread of the generator's w per coordinate, so that its outputs are of unit size. It belongs to one
/// generator, named by <see cref="GeneratorSha256"/> (its weights' content hash): another generator's
/// latent space means nothing to it. Stored as string values in the safetensors <c>__metadata__</c>
/// with <c>network</c> = <c>w_encoder</c>.
/// </summary>
public sealed record EncoderConfig
{
    public const string NetworkName = "w_encoder";

    public EncoderConfig(int imgResolution, int imgChannels, IReadOnlyList<int> channels, int wDim, float wScale, string generatorSha256)
    {
        ArgumentNullException.ThrowIfNull(channels);
        (ImgResolution, ImgChannels, Channels, WDim, WScale, GeneratorSha256) = (imgResolution, imgChannels, [.. channels], wDim, wScale, generatorSha256 ?? "");
    }

    /// <summary>Four poolings: 64x64 images reach a 4x4 map of 256 channels, 4,096 features for the fully connected layer.</summary>
    public static IReadOnlyList<int> DefaultChannels { get; } = [32, 64, 128, 128, 256];

    public int ImgResolution { get; }
    public int ImgChannels { get; }
    public IReadOnlyList<int> Channels { get; }
    public int WDim { get; }

    /// <summary>w = w_avg + WScale · output: √(Σ‖w − w_avg‖² / N / w_dim) of the generator's mapped samples.</summary>
    public float WScale { get; }

    /// <summary><see cref="Weights.GeneratorWeights.ContentHash"/> of the generator it was trained for.</summary>
    public string GeneratorSha256 { get; }

    public ConvNetArchitecture Architecture => new(ImgChannels, ImgResolution, Channels, WDim, ConvNetHeadInput.Flatten);

    /// <summary>The network's parameters and the stored w_avg [w_dim] it predicts offsets from.</summary>
    public IEnumerable<(string Name, int[] Shape)> TensorShapes() => Architecture.ParameterShapes().Append(("w_avg", [WDim]));

    /// <summary>The default encoder for <paramref name="generator"/>'s images and w.</summary>
    public static EncoderConfig For(Generator generator, float wScale, IReadOnlyList<int>? channels = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var c = generator.Config;
        return new EncoderConfig(c.ImgResolution, c.ImgChannels, channels ?? DefaultChannels, c.WDim, wScale, generator.Weights.ContentHash);
    }

    /// <summary>Throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new InvalidDataException($"Encoder configuration: {message}");
        }
        Require(ImgChannels is >= 1 and <= 4, $"img_channels must be 1 to 4, got {ImgChannels}.");
        Require(Channels.Count >= 1 && Channels.All(c => c is >= 1 and <= 4096), $"channels must be 1 to 4096 per layer, at least one layer, got [{string.Join(", ", Channels)}].");
        int pools = Channels.Count - 1;
        Require(ImgResolution is >= 1 and <= 4096 && pools < 31 && ImgResolution % (1 << pools) == 0,
            $"img_resolution {ImgResolution} must be 1 to 4096 and divisible by 2^{pools} (one 2x2 pooling after each of the first {pools} convolutions).");
        Require(WDim >= 1, $"w_dim must be positive, got {WDim}.");
        Require(float.IsFinite(WScale) && WScale > 0, $"w_scale must be positive and finite, got {WScale}.");
        Require(GeneratorSha256.Length == 64, $"generator_sha256 must be the 64 hex digits of the generator's content hash, got '{GeneratorSha256}'.");
    }

    public IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>
    {
        ["network"] = NetworkName,
        ["img_resolution"] = I(ImgResolution),
        ["img_channels"] = I(ImgChannels),
        ["channels"] = string.Join(",", Channels.Select(I)),
        ["w_dim"] = I(WDim),
        ["w_scale"] = WScale.ToString("R", CultureInfo.InvariantCulture),
        ["generator_sha256"] = GeneratorSha256,
        ["weight_gain"] = "conv: sqrt(2 / (in_channels * 9)); fc: 1 / sqrt(in_features)",
        ["output"] = "w = w_avg + w_scale * fc(flatten(features))",
        ["input_range"] = "[-1, 1]",
    };

    /// <summary>Reads the safetensors metadata; a missing or malformed key is named in the error.</summary>
    public static EncoderConfig FromMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null) throw new InvalidDataException("The weights file has no __metadata__: the encoder's architecture is missing.");
        if (!metadata.TryGetValue("network", out var network) || network != NetworkName)
            throw new InvalidDataException($"The weights file is not a generator's encoder (metadata 'network' is '{network ?? "missing"}', expected '{NetworkName}').");
        string Text(string key) => metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"Encoder metadata: '{key}' is missing.");
        int Int(string key, string text) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x
            : throw new InvalidDataException($"Encoder metadata: '{key}' must be an integer, got '{text}'.");
        var scaleText = Text("w_scale");
        if (!float.TryParse(scaleText, NumberStyles.Float, CultureInfo.InvariantCulture, out float scale))
            throw new InvalidDataException($"Encoder metadata: 'w_scale' must be a number, got '{scaleText}'.");
        var config = new EncoderConfig(Int("img_resolution", Text("img_resolution")), Int("img_channels", Text("img_channels")),
            [.. Text("channels").Split(',').Select(c => Int("channels", c.Trim()))], Int("w_dim", Text("w_dim")), scale, Text("generator_sha256"));
        config.Validate();
        return config;
    }

    public bool Equals(EncoderConfig? other) =>
        other is not null && ImgResolution == other.ImgResolution && ImgChannels == other.ImgChannels && Channels.SequenceEqual(other.Channels)
        && WDim == other.WDim && WScale == other.WScale && GeneratorSha256 == other.GeneratorSha256;

    public override int GetHashCode() => HashCode.Combine(ImgResolution, ImgChannels, Channels.Count, WDim, GeneratorSha256);

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
