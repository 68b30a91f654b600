using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;
using GrpcExplain.Training.Data;
using GrpcExplain.Training.Metrics;

namespace GrpcExplain.Training.Gan;

/// <summary>FID-ResNet18 of G_ema against the train reals, and the floor (validation against train) when the data has a validation split.</summary>
public sealed record GanFidResult(double Fid, double? Floor, int GeneratedCount, int TrainCount, int? ValidationCount);

/// <summary>
/// The end-of-run quality measurement: <paramref name="count"/> G_ema images (fixed z from the run's
/// seed, const noise, no truncation) against all train reals, beside the validation reals against the
/// same train statistics (<see cref="FidReport"/>). The reals' statistics are kept beside their cache
/// (recomputed when the cache is newer), so a resumed or repeated run does not featurise them again.
/// </summary>
public static class GanFid
{
    public static GanFidResult Compute(GanData data, GeneratorWeights generatorEma, Backend backend, int count, string? modelDirectory,
        Action<string, int, int>? progress, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(generatorEma);
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "FID needs at least 2 generated images.");
        using var model = FidResNet18.Load(modelDirectory);
        var train = RealStatistics(model, data.Train, "train", progress, cancellation);
        var validationCache = data.Validation;
        var validation = validationCache is null ? null : RealStatistics(model, validationCache, "validation", progress, cancellation);

        var config = data.Config;
        var z = TrainingDraws.Gaussian(config.Seed, 0, DrawPurpose.FidZ, count * config.ZDim);
        progress?.Invoke("FID: generating", 0, count);
        var images = SampleGrid.Synthesize(backend, generatorEma, z, count, batch: 16);
        cancellation.ThrowIfCancellationRequested();
        var generated = model.StatisticsOfTensors(images, count, config.Channels, config.Resolution,
            new SyncProgress<int>(n => progress?.Invoke("FID: generated images", n, count)), cancellation);
        return new GanFidResult(Fid.Compute(generated, train), validation is null ? null : Fid.Compute(validation, train),
            count, train.Count, validation?.Count);
    }

    private static FeatureStatistics RealStatistics(FidResNet18 model, PackedCache cache, string what, Action<string, int, int>? progress, CancellationToken cancellation)
    {
        string path = cache.Path + ".fid-resnet18";
        if (File.Exists(path) && File.GetLastWriteTimeUtc(path) >= File.GetLastWriteTimeUtc(cache.Path))
        {
            try
            {
                var saved = FeatureStatistics.Load(path);
                if (saved.Count == cache.Count) return saved;
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                // Damaged: computed again below and overwritten.
            }
        }
        progress?.Invoke($"FID: {what} reals", 0, cache.Count);
        var statistics = model.Statistics(cache, null, new SyncProgress<int>(n => progress?.Invoke($"FID: {what} reals", n, cache.Count)), cancellation);
        statistics.Save(path);
        return statistics;
    }
}
