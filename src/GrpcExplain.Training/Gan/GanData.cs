using GrpcExplain.Training.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Training.Gan;

/// <summary>
/// The real images of a GAN run: the train split (and the validation split, for FID's floor) of a
/// SPLIT/CLASS/file folder or a MedMNIST .npz, decoded once into a <see cref="PackedCache"/> at the
/// run's resolution and channels. Labels are not used (the GAN is unconditional). Minibatch k is a
/// function of (seed, k): epoch k / batches-per-epoch of a <see cref="MinibatchSampler"/>.
/// </summary>
public sealed class GanData
{
    public const string TrainSplit = "train";
    public static IReadOnlyList<string> ValidationSplits { get; } = ["val", "valid", "validation"];

    private readonly MinibatchSampler _sampler;
    private readonly Func<PackedCache?> _validation;
    private PackedCache? _validationCache;
    private bool _validationOpened;
    private int _epoch = -1;
    private int[] _order = [];

    private GanData(GanConfig config, PackedCache train, Func<PackedCache?> validation)
    {
        Config = config;
        Train = train;
        _validation = validation;
        if (train.Count < config.Batch)
            throw new InvalidDataException($"{config.Data}: the train split holds {train.Count} images, fewer than one minibatch of {config.Batch}.");
        _sampler = new MinibatchSampler(train.Count, config.Batch, TrainingDraws.Seed(config.Seed, 0, DrawPurpose.RealOrder));
    }

    public GanConfig Config { get; }

    public PackedCache Train { get; }

    /// <summary>The validation split's cache (built on first use), or null when the data has none.</summary>
    public PackedCache? Validation
    {
        get
        {
            if (!_validationOpened) (_validationCache, _validationOpened) = (_validation(), true);
            return _validationCache;
        }
    }

    /// <summary>Opens (or builds) the caches under <paramref name="cacheDirectory"/>; progress counts decoded images.</summary>
    public static GanData Open(GanConfig config, string cacheDirectory, IProgress<PackedCacheProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        var options = new PreprocessOptions(config.Resolution, config.Channels, config.Fit);
        string Cache(string split) => Path.Combine(cacheDirectory, $"{split}-{config.Resolution}px-{config.Channels}ch-{config.Fit.ToString().ToLowerInvariant()}.gxpack");
        var train = PackedCache.OpenOrBuild(OpenSplit(config.Data, TrainSplit)!, options, Cache(TrainSplit), progress, cancellation);
        return new GanData(config, train, () =>
        {
            foreach (string split in ValidationSplits)
                if (OpenSplit(config.Data, split, optional: true) is { } dataset)
                    return PackedCache.OpenOrBuild(dataset, options, Cache(split), progress, cancellation);
            return null;
        });
    }

    /// <summary>The reals of minibatch <paramref name="step"/>, [batch, C, R, R] in [-1, 1].</summary>
    public float[] Batch(long step)
    {
        long perEpoch = _sampler.BatchesPerEpoch;
        int epoch = checked((int)(step / perEpoch)), index = (int)(step % perEpoch);
        if (epoch != _epoch) (_order, _epoch) = (_sampler.Permutation(epoch), epoch);
        int n = Config.Batch;
        var images = new float[n * Train.ImageBytes];
        Train.FillBatch(_order.AsSpan(index * n, n), images, new int[n]);
        return images;
    }

    /// <summary>1 when the data's first train image is grey (an .npz without a colour axis, or R = G = B everywhere), else 3.</summary>
    public static int DetectChannels(string data)
    {
        var dataset = OpenSplit(data, TrainSplit)!;
        if (dataset is NpzDataset npz) return npz.Channels;
        using var image = dataset.LoadImage(0);
        using var rgb = image.CloneAs<Rgb24>();
        var pixels = new Rgb24[rgb.Width * rgb.Height];
        rgb.CopyPixelDataTo(pixels);
        return pixels.All(p => p.R == p.G && p.G == p.B) ? 1 : 3;
    }

    /// <summary>The split of a folder (ROOT/SPLIT/CLASS/file) or an .npz; null for a missing optional split.</summary>
    public static IImageDataset? OpenSplit(string data, string split, bool optional = false)
    {
        if (File.Exists(data))
        {
            if (!data.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{data}: a file that is not a .npz; give a MedMNIST .npz or a folder holding {TrainSplit}/CLASS/images.");
            try
            {
                return NpzDataset.Open(data, split);
            }
            catch (InvalidDataException) when (optional)
            {
                return null;
            }
        }
        if (!Directory.Exists(data)) throw new DirectoryNotFoundException($"{data}: no such folder or .npz file.");
        if (optional && !Directory.Exists(Path.Combine(data, split))) return null;
        return ImageFolderDataset.Open(data, split);
    }
}
