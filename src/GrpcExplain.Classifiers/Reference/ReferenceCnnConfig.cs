using System.Globalization;
using System.Text.Json;
using GrpcExplain.Kernels.Networks;

namespace GrpcExplain.Classifiers.Reference;

/// <summary>
/// The reference classifier's architecture: for each entry of <see cref="Channels"/> a 3x3 convolution
/// (padding 1) with ReLU, each but the last followed by 2x2 average pooling; then global average pooling
/// and one fully connected layer to the class logits. The default is the suggested
/// conv(C→32)-pool, conv(32→64)-pool, conv(64→128)-pool, conv(128→128), GAP, fc(128→classes).
/// Stored as string values in the weights file's safetensors <c>__metadata__</c> with
/// <c>network</c> = <c>reference_cnn</c>; the class labels travel with it, as a JSON array.
/// </summary>
public sealed record ReferenceCnnConfig
{
    public const string NetworkName = "reference_cnn";

    public ReferenceCnnConfig(int imgResolution, int imgChannels, IReadOnlyList<int> channels, IReadOnlyList<string> classLabels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(classLabels);
        ImgResolution = imgResolution;
        ImgChannels = imgChannels;
        Channels = [.. channels];
        ClassLabels = [.. classLabels];
    }

    /// <summary>The suggested layer widths.</summary>
    public static IReadOnlyList<int> DefaultChannels { get; } = [32, 64, 128, 128];

    /// <summary>Square input images, img_resolution x img_resolution.</summary>
    public int ImgResolution { get; }

    /// <summary>1 (grey) or 3 (RGB).</summary>
    public int ImgChannels { get; }

    /// <summary>Output channels of each convolution, first to last.</summary>
    public IReadOnlyList<int> Channels { get; }

    public IReadOnlyList<string> ClassLabels { get; }

    public int ClassCount => ClassLabels.Count;

    /// <summary>Convolutions; every one but the last halves the resolution after it.</summary>
    public int ConvCount => Channels.Count;

    /// <summary>Side of the last convolution's feature map (Grad-CAM's resolution): img_resolution / 2^(convs − 1).</summary>
    public int FeatureResolution => ImgResolution >> (ConvCount - 1);

    public int FeatureChannels => Channels[^1];

    /// <summary>Input channels of convolution <paramref name="layer"/>.</summary>
    public int InChannels(int layer) => layer == 0 ? ImgChannels : Channels[layer - 1];

    /// <summary>Resolution at which convolution <paramref name="layer"/> runs.</summary>
    public int Resolution(int layer) => ImgResolution >> layer;

    /// <summary>Throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new InvalidDataException($"Reference CNN configuration: {message}");
        }
        Require(ImgChannels is 1 or 3, $"img_channels must be 1 (grey) or 3 (RGB), got {ImgChannels}.");
        Require(Channels.Count >= 1 && Channels.All(c => c is >= 1 and <= 4096), $"channels must be 1 to 4096 per layer, at least one layer, got [{string.Join(", ", Channels)}].");
        Require(ImgResolution >= 1 && ImgResolution <= 4096, $"img_resolution must be 1 to 4096, got {ImgResolution}.");
        int pools = Channels.Count - 1;
        Require(pools < 31 && ImgResolution % (1 << pools) == 0,
            $"img_resolution {ImgResolution} must be divisible by 2^{pools} = {(pools < 31 ? 1 << pools : 0)} (one 2x2 pooling after each of the first {pools} convolutions).");
        Require(ClassLabels.Count >= 2, $"a softmax classifier needs at least 2 class labels, got {ClassLabels.Count}.");
        Require(ClassLabels.All(l => !string.IsNullOrEmpty(l)) && ClassLabels.Distinct().Count() == ClassLabels.Count, "class labels must be non-empty and distinct.");
    }

    /// <summary>The network this is: the convolutions, global average pooling, one logit per class.</summary>
    public ConvNetArchitecture Architecture => new(ImgChannels, ImgResolution, Channels, ClassCount, ConvNetHeadInput.GlobalAverage);

    /// <summary>Every parameter with its name and shape, in the order of the network (PyTorch's conv weight layout [O, I, 3, 3], fc [classes, C]).</summary>
    public IEnumerable<(string Name, int[] Shape)> ParameterShapes() => Architecture.ParameterShapes();

    public IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>
    {
        ["network"] = NetworkName,
        ["img_resolution"] = I(ImgResolution),
        ["img_channels"] = I(ImgChannels),
        ["channels"] = string.Join(",", Channels.Select(I)),
        ["num_classes"] = I(ClassCount),
        ["class_labels"] = JsonSerializer.Serialize(ClassLabels),
        // How to read the stored weights: unscaled, the gains applied at run time (see ReferenceCnnWeights).
        ["weight_gain"] = "conv: sqrt(2 / (in_channels * 9)); fc: 1 / sqrt(in_features)",
        ["input_range"] = "[-1, 1]",
    };

    /// <summary>Reads the safetensors metadata; a missing or malformed key is named in the error.</summary>
    public static ReferenceCnnConfig FromMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null) throw new InvalidDataException("The weights file has no __metadata__: the reference CNN's architecture is missing.");
        if (!metadata.TryGetValue("network", out var network) || network != NetworkName)
            throw new InvalidDataException($"The weights file is not a reference CNN (metadata 'network' is '{network ?? "missing"}', expected '{NetworkName}').");
        string Text(string key) => metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"Reference CNN metadata: '{key}' is missing.");
        int Int(string key, string text) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x
            : throw new InvalidDataException($"Reference CNN metadata: '{key}' must be an integer, got '{text}'.");
        int[] channels = [.. Text("channels").Split(',').Select(c => Int("channels", c.Trim()))];
        string[] labels;
        try
        {
            labels = JsonSerializer.Deserialize<string[]>(Text("class_labels")) ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Reference CNN metadata: 'class_labels' must be a JSON array of strings: {e.Message}", e);
        }
        int classes = Int("num_classes", Text("num_classes"));
        if (classes != labels.Length)
            throw new InvalidDataException($"Reference CNN metadata: num_classes is {classes} but class_labels names {labels.Length}.");
        var config = new ReferenceCnnConfig(Int("img_resolution", Text("img_resolution")), Int("img_channels", Text("img_channels")), channels, labels);
        config.Validate();
        return config;
    }

    public bool Equals(ReferenceCnnConfig? other) =>
        other is not null && ImgResolution == other.ImgResolution && ImgChannels == other.ImgChannels
        && Channels.SequenceEqual(other.Channels) && ClassLabels.SequenceEqual(other.ClassLabels);

    public override int GetHashCode() => HashCode.Combine(ImgResolution, ImgChannels, Channels.Count, ClassLabels.Count);

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
