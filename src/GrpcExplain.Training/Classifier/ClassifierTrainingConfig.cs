using System.Text.Json;
using System.Text.Json.Serialization;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Classifier;

/// <summary>How dataset classes become the classifier's classes.</summary>
public enum ClassifierLabels
{
    /// <summary>Each class folder (or .npz label value) is a class, in sorted order.</summary>
    [JsonStringEnumMemberName("folders")]
    Folders,

    /// <summary>Kellgren-Lawrence grades 0..4 as folders: class 1 is KL ≥ 2 (osteoarthritis), class 0 KL ≤ 1.</summary>
    [JsonStringEnumMemberName("binary-kl2")]
    BinaryKl2,
}

/// <summary>
/// What a classifier training run computes: data, geometry, network, optimisation and the seed. Fixed for
/// a run (a checkpoint is resumed only under the same config); how many epochs to run is not part of it.
/// </summary>
public sealed record ClassifierTrainingConfig
{
    /// <summary>A folder with train/ and val/ (SPLIT/CLASS/file.png|jpg) or a MedMNIST .npz.</summary>
    public required string Data { get; init; }

    public int Resolution { get; init; } = 64;

    /// <summary>1 (grey) or 3 (RGB).</summary>
    public int Channels { get; init; } = 3;

    public ImageFit Fit { get; init; } = ImageFit.Resize;

    public ClassifierLabels Labels { get; init; } = ClassifierLabels.Folders;

    /// <summary>Names of the classes in class order; null: the folder names (folders) or "KL0-1", "KL2-4" (binary-kl2).</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The convolutions' widths (<see cref="ReferenceCnnConfig.Channels"/>).</summary>
    public IReadOnlyList<int> NetworkChannels { get; init; } = ReferenceCnnConfig.DefaultChannels;

    public ClassifierAugmentation Augment { get; init; } = ClassifierAugmentation.None;

    public int Batch { get; init; } = 64;

    /// <summary>Adam's learning rate at the start; it follows a cosine down to 5% of this over the run's epochs.</summary>
    /// <remarks>
    /// 0.01 by default, ten times the usual Adam rate: the weights are stored at unit scale and multiplied by
    /// their gain at run time, so a step moves a convolution's effective weights by about lr·√(2 / fan_in).
    /// The knee classifier learnt little in 5 epochs at 0.001.
    /// </remarks>
    public double LearningRate { get; init; } = 1e-2;

    public int Seed { get; init; }

    [JsonIgnore]
    public LabelMapping Mapping => Labels == ClassifierLabels.BinaryKl2 ? LabelMapping.AtLeast(2) : LabelMapping.Identity;

    [JsonIgnore]
    public CropMode Crop => Fit == ImageFit.CenterCrop ? CropMode.CenterCrop : CropMode.Resize;

    /// <summary>Throws ArgumentException naming the first value that cannot be trained.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Data)) throw new ArgumentException("No data given.");
        if (Resolution is < 8 or > 1024) throw new ArgumentException($"resolution must be 8 to 1024, got {Resolution}.");
        if (Channels is not (1 or 3)) throw new ArgumentException($"channels must be 1 (grey) or 3 (RGB), got {Channels}.");
        if (Batch < 1) throw new ArgumentException($"batch must be at least 1, got {Batch}.");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"the learning rate must be positive, got {LearningRate}.");
        if (ClassNames is { } names && (names.Count < 2 || names.Any(string.IsNullOrWhiteSpace) || names.Distinct().Count() != names.Count))
            throw new ArgumentException($"class names must be at least two, non-empty and distinct, got [{string.Join(", ", names)}].");
        try
        {
            new ReferenceCnnConfig(Resolution, Channels, NetworkChannels, ["0", "1"]).Validate();
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ClassifierTrainingConfig FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<ClassifierTrainingConfig>(json, Json) ?? throw new InvalidDataException($"{source}: empty training config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a classifier training config: {e.Message}", e);
        }
    }

    /// <summary>Equal as the run sees them (lists by content).</summary>
    public bool SameAs(ClassifierTrainingConfig other) => ToJson() == other?.ToJson();
}
