using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;

namespace GrpcExplain.Cli.Synthesize;

internal enum LatentSpace { Z, W }

/// <summary>What <c>grpcexplain synthesize</c> was asked to do, checked as far as the command line alone allows.</summary>
internal sealed record SynthesizeRequest(
    string WeightsPath,
    string? LatentsPath,
    IReadOnlyList<uint>? Seeds,
    LatentSpace? Space,
    int? ClassIndex,
    float TruncationPsi,
    int? TruncationCutoff,
    NoiseMode Noise,
    int NoiseSeed,
    BackendKind Backend,
    int BatchSize,
    string OutputDirectory);
