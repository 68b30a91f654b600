namespace GrpcExplain.Training.Gan;

/// <summary>What a run tells its caller while it goes (the CLI draws its progress line from these).</summary>
public abstract record GanEvent;

/// <summary>Decoding the data into its cache (only when there is no valid cache yet).</summary>
public sealed record GanDataProgress(int Done, int Total) : GanEvent;

/// <summary>
/// After every minibatch: where the run is, its speed this session, the losses averaged since the last
/// log line, the last R1 penalty, ADA's p and r_t, and the estimated seconds left.
/// </summary>
public sealed record GanProgress(
    long Step, long TargetStep, double Kimg, double TargetKimg, double ImagesPerSecond,
    double GeneratorLoss, double DiscriminatorLoss, double? R1Penalty, double AugmentP, double? AdaRt, double? EtaSeconds,
    long SessionSteps, long SessionTargetSteps) : GanEvent;

/// <summary>One line of RUN/log.jsonl (losses averaged over the minibatches since the previous line).</summary>
public sealed record GanLogEntry(
    long Step, double Kimg, double ImagesPerSecond, double GeneratorLoss, double DiscriminatorLoss, double? R1Penalty,
    double AugmentP, double? AdaRt, double WallSeconds, DateTime Time) : GanEvent;

/// <summary>A checkpoint, the exported generator and (except when stopping) a sample grid were written.</summary>
public sealed record GanSnapshotWritten(double Kimg, string Checkpoint, string Generator, string? Grid) : GanEvent;

/// <summary>FID-ResNet18 (during the run or at its end): which images are being featurised.</summary>
public sealed record GanFidProgress(string What, int Done, int Total) : GanEvent;

/// <summary>One line of RUN/fid.jsonl: FID-ResNet18 of G_ema at this point of the run, beside its floor (null without a validation split).</summary>
public sealed record GanFidEntry(long Step, double Kimg, double Fid, double? Floor, int GeneratedImages, double WallSeconds, DateTime Time) : GanEvent;

/// <summary>How a run ended.</summary>
public sealed record GanRunResult(string RunDirectory, string GeneratorPath, long Step, double Kimg, double WallSeconds, GanFidResult? Fid, string? MetricsPath);
