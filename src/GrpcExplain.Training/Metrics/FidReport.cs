using System.Globalization;

namespace GrpcExplain.Training.Metrics;

/// <summary>
/// FID-ResNet18 of generated images against the training set, always beside its floor: the same metric
/// between the real validation and training sets, which a generator matching the data distribution would
/// reach (not 0: two finite samples of one distribution differ, and FID's bias grows as samples shrink).
/// Compare runs only at the same sample counts; generating as many images as the validation set holds
/// makes the two numbers comparable with each other.
/// </summary>
public sealed record FidReport(double Fid, double Floor, int GeneratedCount, int TrainCount, int ValidationCount)
{
    public static FidReport Compute(FeatureStatistics train, FeatureStatistics validation, FeatureStatistics generated)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(generated);
        return new FidReport(Metrics.Fid.Compute(generated, train), Metrics.Fid.Compute(validation, train), generated.Count, train.Count, validation.Count);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"FID-ResNet18 {Fid:F2} (generated {GeneratedCount} vs train {TrainCount}); floor {Floor:F2} (validation {ValidationCount} vs train)");
}
