using GrpcExplain.Kernels;
using GrpcExplain.Training.Data;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Cli.Train;

/// <summary>
/// What <c>grpcexplain train gan</c> was asked to do: the settings given on the command line (null when
/// left out) and where and how to run.
/// </summary>
internal sealed record TrainGanRequest
{
    public const double DefaultKimg = 50;
    public const double DefaultSnapshotKimg = 2;
    public const int DefaultFidImages = 2000;

    public string? Data { get; init; }
    public required string RunDirectory { get; init; }
    public int? Resolution { get; init; }
    public int? Channels { get; init; }
    public CropMode? Fit { get; init; }
    public double? Kimg { get; init; }
    public int? Batch { get; init; }
    public int? ChannelBase { get; init; }
    public int? ChannelMax { get; init; }
    public int? ZDim { get; init; }
    public int? WDim { get; init; }
    public int? MappingLayers { get; init; }
    public double? Gamma { get; init; }
    public bool? Ada { get; init; }
    public double? AdaKimg { get; init; }
    public double? SnapshotKimg { get; init; }
    public int? Seed { get; init; }
    public BackendKind Backend { get; init; }
    public bool Resume { get; init; }
    public int? FidImages { get; init; }
    public double? FidKimg { get; init; }
    public string? CacheDirectory { get; init; }
    public string? WarmStart { get; init; }
    public double? DWarmupKimg { get; init; }
    public double? GLrRampupKimg { get; init; }

    /// <summary>The given settings over <paramref name="start"/> (a checkpoint's configuration, or the defaults).</summary>
    public GanConfig Over(GanConfig start) => start with
    {
        Data = Data ?? start.Data,
        Resolution = Resolution ?? start.Resolution,
        Channels = Channels ?? start.Channels,
        Fit = Fit ?? start.Fit,
        Batch = Batch ?? start.Batch,
        ChannelBase = ChannelBase ?? start.ChannelBase,
        ChannelMax = ChannelMax ?? start.ChannelMax,
        ZDim = ZDim ?? start.ZDim,
        WDim = WDim ?? start.WDim,
        MappingLayers = MappingLayers ?? start.MappingLayers,
        Gamma = Gamma ?? start.Gamma,
        Ada = Ada ?? start.Ada,
        AdaKimg = AdaKimg ?? start.AdaKimg,
        Seed = Seed ?? start.Seed,
        WarmStart = WarmStart ?? start.WarmStart,
        DWarmupKimg = DWarmupKimg ?? start.DWarmupKimg,
        GLrRampupKimg = GLrRampupKimg ?? start.GLrRampupKimg,
    };

    /// <summary>A new run's configuration: the defaults, the channels of the data when not given, and the R1 heuristic when gamma is not given.</summary>
    public GanConfig NewConfig()
    {
        var config = Over(new GanConfig { Data = Data ?? throw new UsageException("--data is required to start a run (RUN holds no checkpoint to resume).") });
        config = config with { Channels = Channels ?? GanData.DetectChannels(config.Data) };
        return Gamma is null ? config with { Gamma = GanConfig.AutoGamma(config.Resolution, config.Batch) } : config;
    }

    public GanRunOptions RunOptions() => new()
    {
        RunDirectory = RunDirectory,
        Kimg = Kimg ?? DefaultKimg,
        SnapshotKimg = SnapshotKimg ?? DefaultSnapshotKimg,
        FidImages = FidImages ?? DefaultFidImages,
        FidKimg = FidKimg ?? 0,
        CacheDirectory = CacheDirectory,
    };
}
