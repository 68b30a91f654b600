namespace GrpcExplain.Kernels.Ilgpu;

/// <summary>
/// The implicit-GEMM kernel behind the ILGPU backend's convolutions. Numbered versions are all kept,
/// validated against the same reference and benchmarked side by side (as llm.c keeps its kernels).
/// </summary>
public enum GemmVersion
{
    /// <summary>64x64 tiles, a 4x4 block per thread, K-steps of 16 (ImplicitGemm.cs).</summary>
    V1,

    /// <summary>128x128 tiles, an 8x8 block per thread read as float4s, the next K-step's loads in flight while one computes (ImplicitGemmV2.cs).</summary>
    V2,
}

public sealed record IlgpuBackendOptions
{
    /// <summary>The environment variable the factories read: <c>v1</c> or <c>v2</c>.</summary>
    public const string GemmVariable = "GRPCEXPLAIN_ILGPU_GEMM";

    /// <summary>v2 by default: 2.7x v1 on the modulated 3x3 convolutions of an H200, about cuDNN's speed (docs/benchmarks.md).</summary>
    public GemmVersion Gemm { get; init; } = GemmVersion.V2;

    /// <summary>The defaults, with <see cref="GemmVariable"/> applied when it is set.</summary>
    public static IlgpuBackendOptions FromEnvironment()
    {
        var gemm = Environment.GetEnvironmentVariable(GemmVariable);
        return string.IsNullOrWhiteSpace(gemm) ? new IlgpuBackendOptions() : new IlgpuBackendOptions { Gemm = ParseGemm(gemm) };
    }

    /// <summary><c>v1</c> or <c>v2</c> (any case); anything else throws, so a run never silently measures the wrong kernel.</summary>
    public static GemmVersion ParseGemm(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "v1" => GemmVersion.V1,
        "v2" => GemmVersion.V2,
        _ => throw new ArgumentException($"Unknown GEMM version '{text}' (from {GemmVariable} or options). Choose v1 or v2.", nameof(text)),
    };
}
