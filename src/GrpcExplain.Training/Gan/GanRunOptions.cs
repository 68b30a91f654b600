namespace GrpcExplain.Training.Gan;

/// <summary>How long and how a run goes, beside what it computes (<see cref="GanConfig"/>): free to change when resuming.</summary>
public sealed record GanRunOptions
{
    /// <summary>RUN/: checkpoint, state.json, generator.safetensors, samples/, log.jsonl, fid.jsonl, metrics.json.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>Train until this many thousand real images have been shown to D (in total, over every session).</summary>
    public required double Kimg { get; init; }

    /// <summary>Checkpoint, generator export and sample grid every this many kimg (and at the end, and when stopped).</summary>
    public double SnapshotKimg { get; init; } = 2;

    /// <summary>One line of RUN/log.jsonl every this many kimg (and at every snapshot).</summary>
    public double LogKimg { get; init; } = 0.25;

    /// <summary>G_ema images for each FID-ResNet18 (during the run and at its end); 0 skips them all.</summary>
    public int FidImages { get; init; } = 2000;

    /// <summary>FID-ResNet18 also every this many kimg while training (RUN/fid.jsonl); 0: only at the end.</summary>
    public double FidKimg { get; init; }

    /// <summary>Samples in each grid.</summary>
    public int GridImages { get; init; } = 32;

    /// <summary>Where the decoded data (and the reals' FID statistics) are kept; default RUN/cache.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>The FID-ResNet18 ONNX files (default: beside the program).</summary>
    public string? FidModelDirectory { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RunDirectory)) throw new ArgumentException("No run folder given.");
        if (!(Kimg > 0) || !double.IsFinite(Kimg)) throw new ArgumentException($"kimg must be positive, got {Kimg}.");
        if (!(SnapshotKimg > 0) || !double.IsFinite(SnapshotKimg)) throw new ArgumentException($"snapshot_kimg must be positive, got {SnapshotKimg}.");
        if (!(LogKimg > 0) || !double.IsFinite(LogKimg)) throw new ArgumentException($"log_kimg must be positive, got {LogKimg}.");
        if (FidImages is < 0 or 1) throw new ArgumentException($"fid_images must be 0 (skip) or at least 2, got {FidImages}.");
        if (!(FidKimg >= 0) || !double.IsFinite(FidKimg)) throw new ArgumentException($"fid_kimg must be 0 (only at the end) or positive, got {FidKimg}.");
        if (GridImages < 1) throw new ArgumentException($"grid_images must be at least 1, got {GridImages}.");
    }
}
