using System.Text.Json;
using System.Text.Json.Serialization;

namespace GrpcExplain.Classifiers;

/// <summary>
/// How to feed a classifier our images and read its answer: the small config file of ours that sits
/// beside Triton's layout (<c>REPO/MODEL/classifier.json</c>, for every version of the model). The
/// server needs it only for the batch limit; clients need it to preprocess, so the coordinator keeps
/// a copy for a model served by Triton or KServe.
/// <code>
/// { "input": { "name": "image", "datatype": "FP32", "layout": "NCHW", "channels": 3, "height": 224, "width": 224 },
///   "normalization": { "scale": 1.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] },
///   "output": { "name": "logits", "activation": "softmax" },
///   "class_labels": [ "normal", "tumor" ],
///   "max_batch_size": 16,
///   "fit": "resize" }
/// </code>
/// An image x in [-1, 1] becomes x01 = (x + 1) / 2, then for FP32 inputs (x01 * scale - mean[c]) / std[c]
/// (no normalization: x01 itself), for UINT8 inputs round(clamp(x01, 0, 1) * 255).
/// </summary>
public sealed record ClassifierConfig
{
    public const string FileName = "classifier.json";

    /// <summary>The batch limit when a model has no config (and the default of one that names none).</summary>
    public const int DefaultMaxBatchSize = 64;

    public required InputConfig Input { get; init; }

    public NormalizationConfig? Normalization { get; init; }

    public required OutputConfig Output { get; init; }

    public required IReadOnlyList<string> ClassLabels { get; init; }

    public int MaxBatchSize { get; init; } = DefaultMaxBatchSize;

    /// <summary>How an image file of another size is brought to the input's height and width (see <see cref="InputImages"/>).</summary>
    public ImageFit Fit { get; init; } = ImageFit.Resize;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static ClassifierConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{path}: cannot read the classifier config: {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Reads and checks a config; errors name <paramref name="source"/> and the field.</summary>
    public static ClassifierConfig Parse(string json, string source)
    {
        ClassifierConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<ClassifierConfig>(json, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid classifier config: {e.Message}", e);
        }
        if (config is null)
        {
            throw new InvalidDataException($"{source}: the classifier config is empty.");
        }
        var problems = config.Problems();
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"{source}: {string.Join("; ", problems)}");
        }
        return config;
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>What is inconsistent within the config itself.</summary>
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        if (string.IsNullOrEmpty(Input.Name))
        {
            p.Add("input.name is empty");
        }
        if (Input.Channels < 1 || Input.Height < 1 || Input.Width < 1)
        {
            p.Add($"input.channels, height and width must be positive (got {Input.Channels}, {Input.Height}, {Input.Width})");
        }
        if (Normalization is { } n)
        {
            if (Input.Datatype != DataType.Fp32)
            {
                p.Add("normalization applies to FP32 inputs only (a UINT8 input takes the image's 0..255 levels)");
            }
            if (!float.IsFinite(n.Scale) || n.Scale == 0)
            {
                p.Add("normalization.scale must be finite and non-zero");
            }
            if (n.Mean.Count != 1 && n.Mean.Count != Input.Channels)
            {
                p.Add($"normalization.mean needs 1 or {Input.Channels} values, has {n.Mean.Count}");
            }
            if (n.Std.Count != 1 && n.Std.Count != Input.Channels)
            {
                p.Add($"normalization.std needs 1 or {Input.Channels} values, has {n.Std.Count}");
            }
            if (n.Std.Any(s => !float.IsFinite(s) || s == 0) || n.Mean.Any(m => !float.IsFinite(m)))
            {
                p.Add("normalization.mean must be finite and normalization.std finite and non-zero");
            }
        }
        if (string.IsNullOrEmpty(Output.Name))
        {
            p.Add("output.name is empty");
        }
        if (ClassLabels.Count < 1 || (Output.Activation == Activation.Softmax && ClassLabels.Count < 2))
        {
            p.Add($"class_labels needs at least {(Output.Activation == Activation.Softmax ? 2 : 1)} labels");
        }
        if (ClassLabels.Distinct().Count() != ClassLabels.Count)
        {
            p.Add("class_labels has duplicates");
        }
        if (MaxBatchSize < 1)
        {
            p.Add("max_batch_size must be at least 1");
        }
        return p;
    }

    /// <summary>
    /// Where the config disagrees with a model's declared inputs and outputs (from ONNX or from a
    /// server's ModelMetadata); empty when the config can drive the model.
    /// </summary>
    public IReadOnlyList<string> ProblemsWith(IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        var p = new List<string>();
        var input = inputs.FirstOrDefault(t => t.Name == Input.Name);
        if (input is null)
        {
            p.Add($"the model has no input '{Input.Name}' (it has {string.Join(", ", inputs.Select(t => t.ToString()))})");
        }
        else
        {
            if (inputs.Count != 1)
            {
                p.Add($"the model takes {inputs.Count} inputs; a classifier feeds one");
            }
            if (input.Type != Input.Datatype)
            {
                p.Add($"input '{Input.Name}' is {DataTypes.Name(input.Type)}, the config says {DataTypes.Name(Input.Datatype)}");
            }
            long[] expected = [-1, .. Input.ImageShape()];
            if (input.Shape.Count != 4 || Enumerable.Range(1, 3).Any(i => input.Shape[i] != -1 && input.Shape[i] != expected[i]))
            {
                p.Add($"input '{Input.Name}' has shape [{string.Join(", ", input.Shape)}], the config says [N, {string.Join(", ", expected[1..])}] ({Input.Layout})");
            }
        }
        var output = outputs.FirstOrDefault(t => t.Name == Output.Name);
        if (output is null)
        {
            p.Add($"the model has no output '{Output.Name}' (it has {string.Join(", ", outputs.Select(t => t.ToString()))})");
        }
        else
        {
            if (output.Type != DataType.Fp32)
            {
                p.Add($"output '{Output.Name}' is {DataTypes.Name(output.Type)}; class scores must be FP32");
            }
            if (output.Shape.Count != 2)
            {
                p.Add($"output '{Output.Name}' has shape [{string.Join(", ", output.Shape)}]; class scores are [N, classes]");
            }
            else if (output.Shape[1] != -1 && !Postprocessing.Fits(this, output.Shape[1]))
            {
                p.Add($"output '{Output.Name}' has {output.Shape[1]} scores per image, which {Output.Activation} does not turn into {ClassLabels.Count} class probabilities");
            }
        }
        return p;
    }
}

public enum Layout
{
    [JsonStringEnumMemberName("NCHW")]
    Nchw,

    [JsonStringEnumMemberName("NHWC")]
    Nhwc,
}

public enum Activation
{
    /// <summary>The output holds probabilities already.</summary>
    [JsonStringEnumMemberName("none")]
    None,

    /// <summary>Logits of mutually exclusive classes.</summary>
    [JsonStringEnumMemberName("softmax")]
    Softmax,

    /// <summary>Independent logits; one logit with two labels is the second label's probability.</summary>
    [JsonStringEnumMemberName("sigmoid")]
    Sigmoid,
}

/// <summary>
/// The geometry that brings an image file of any size to the model's input height x width, as the model
/// was trained: no resampling when the file already has that size.
/// </summary>
public enum ImageFit
{
    /// <summary>
    /// The largest central region with the input's aspect ratio (a square for square inputs), resized to
    /// the input size (bicubic, area-aware when shrinking): knee X-rays of 128x128 to 64x64, say.
    /// </summary>
    [JsonStringEnumMemberName("resize")]
    Resize,

    /// <summary>
    /// The central height x width pixels, not resampled: the model sees the file's pixels at the scale it
    /// was trained on (PatchCamelyon tiles are 96x96 and their label concerns the centre, so the model
    /// takes their central 64x64). A file smaller than the input in either dimension is refused.
    /// </summary>
    [JsonStringEnumMemberName("center_crop")]
    CenterCrop,
}

public sealed record InputConfig
{
    public required string Name { get; init; }

    public DataType Datatype { get; init; } = DataType.Fp32;

    public Layout Layout { get; init; } = Layout.Nchw;

    public required int Channels { get; init; }

    public required int Height { get; init; }

    public required int Width { get; init; }

    /// <summary>One image's dimensions in the model's layout.</summary>
    public long[] ImageShape() => Layout == Layout.Nchw ? [Channels, Height, Width] : [Height, Width, Channels];
}

public sealed record NormalizationConfig
{
    public float Scale { get; init; } = 1;

    public IReadOnlyList<float> Mean { get; init; } = [0];

    public IReadOnlyList<float> Std { get; init; } = [1];
}

public sealed record OutputConfig
{
    public required string Name { get; init; }

    public Activation Activation { get; init; } = Activation.Softmax;
}
