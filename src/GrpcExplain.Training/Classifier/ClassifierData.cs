using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Classifier;

/// <summary>
/// The labelled images of a classifier run: the train and validation splits of a SPLIT/CLASS/file folder or
/// a MedMNIST .npz, under the run's label mapping, decoded once into <see cref="PackedCache"/>s at the run's
/// resolution, channels and fit (the same fit the exported model's config names, so <c>classify</c> sees
/// files as training did).
/// </summary>
public sealed class ClassifierData
{
    public const string TrainSplit = "train";
    public static IReadOnlyList<string> ValidationSplits { get; } = ["val", "valid", "validation"];

    private ClassifierData(PackedCache train, PackedCache validation, IReadOnlyList<string> classLabels) =>
        (Train, Validation, ClassLabels) = (train, validation, classLabels);

    public PackedCache Train { get; }

    public PackedCache Validation { get; }

    /// <summary>The classifier's class names, by label.</summary>
    public IReadOnlyList<string> ClassLabels { get; }

    public static ClassifierData Open(ClassifierTrainingConfig config, string cacheDirectory, IProgress<PackedCacheProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        var options = new PreprocessOptions(config.Resolution, config.Channels, config.Crop);
        string labels = config.Labels.ToString().ToLowerInvariant();
        string Cache(string split) => Path.Combine(cacheDirectory, $"{split}-{config.Resolution}px-{config.Channels}ch-{config.Crop.ToString().ToLowerInvariant()}-{labels}.gxpack");

        var trainSet = OpenSplit(config.Data, TrainSplit, config.Mapping)
            ?? throw new DirectoryNotFoundException($"{config.Data}: no '{TrainSplit}' split.");
        var validationSet = ValidationSplits.Select(s => OpenSplit(config.Data, s, config.Mapping)).FirstOrDefault(d => d is not null)
            ?? throw new DirectoryNotFoundException($"{config.Data}: no validation split ({string.Join(", ", ValidationSplits)}); the classifier is chosen and reported on it.");
        if (trainSet.LabelCount < 2) throw new InvalidDataException($"{config.Data}: the train split has {trainSet.LabelCount} class under mapping '{config.Mapping}'; a classifier needs at least 2.");
        if (!trainSet.Classes.SequenceEqual(validationSet.Classes))
            throw new InvalidDataException($"{config.Data}: the train classes [{string.Join(", ", trainSet.Classes)}] differ from the validation classes [{string.Join(", ", validationSet.Classes)}].");

        var names = config.ClassNames ?? DefaultNames(config.Labels, trainSet);
        if (names.Count != trainSet.LabelCount)
            throw new ArgumentException($"{names.Count} class names [{string.Join(", ", names)}] for {trainSet.LabelCount} classes.");
        var train = PackedCache.OpenOrBuild(trainSet, options, Cache(TrainSplit), progress, cancellation);
        var validation = PackedCache.OpenOrBuild(validationSet, options, Cache(validationSet.Split), progress, cancellation);
        if (train.Count < config.Batch) throw new InvalidDataException($"{config.Data}: the train split holds {train.Count} images, fewer than one minibatch of {config.Batch}.");
        return new ClassifierData(train, validation, names);
    }

    private static IReadOnlyList<string> DefaultNames(ClassifierLabels labels, IImageDataset dataset) =>
        labels == ClassifierLabels.BinaryKl2 ? ["KL0-1", "KL2-4"] : dataset.Classes;

    /// <summary>A split of a folder or an .npz under a label mapping; null when the split is not there.</summary>
    private static IImageDataset? OpenSplit(string data, string split, LabelMapping mapping)
    {
        if (File.Exists(data))
        {
            if (!data.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{data}: a file that is not a .npz; give a MedMNIST .npz or a folder holding {TrainSplit}/CLASS/images.");
            try
            {
                return NpzDataset.Open(data, split, mapping);
            }
            catch (InvalidDataException e) when (e.Message.Contains($"no array '{split}_images'", StringComparison.Ordinal))
            {
                return null;
            }
        }
        if (!Directory.Exists(data)) throw new DirectoryNotFoundException($"{data}: no such folder or .npz file.");
        return Directory.Exists(Path.Combine(data, split)) ? ImageFolderDataset.Open(data, split, mapping) : null;
    }
}
