using GrpcExplain.Kernels;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Generator;

/// <summary>
/// One generator service instance: which model it serves, where it runs, and its limits. Bound from
/// the configuration section "Generator" by Program (<c>--Generator:WeightsPath=G.safetensors</c>).
/// </summary>
public sealed class GeneratorServiceOptions
{
    public const string SectionName = "Generator";

    /// <summary>Generator weights (safetensors with stylegan2-ada-pytorch names), loaded when the host starts.</summary>
    public string? WeightsPath { get; set; }

    /// <summary>Where the kernels run: auto (cuda when an NVIDIA GPU is present, else cpu), cpu, cuda or ilgpu-cpu.</summary>
    public string Backend { get; set; } = "auto";

    /// <summary>Builds the generator instead of <see cref="WeightsPath"/> and <see cref="Backend"/>: for a host
    /// that already has one in memory, and for tests. The service owns what it returns and disposes the
    /// generator and its backend when the host stops.</summary>
    public Func<StyleGan.Generator>? GeneratorFactory { get; set; }

    /// <summary>The most samples one request may carry.</summary>
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>
    /// Samples given to the generator at once; a request's batch runs in slices of this size, and a
    /// cancelled or expired call stops between slices. Larger slices use a GPU better.
    /// </summary>
    public int ComputeBatchSize { get; set; } = 8;

    /// <summary>Largest request and response message in bytes; images exceed gRPC's default of 4 MB.</summary>
    public int MaxMessageSizeBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>gzip responses when the client accepts gzip (grpc-accept-encoding). Tensors of
    /// float32 pixels shrink little; turn this off where the CPU time matters more than the bytes.</summary>
    public bool CompressResponses { get; set; } = true;

    /// <summary>The first wrong setting, in words, or null when they are all right.</summary>
    public string? Problem()
    {
        if (GeneratorFactory is null)
        {
            if (string.IsNullOrWhiteSpace(WeightsPath)) return $"{SectionName}:WeightsPath is not set: give the generator's weights file (G.safetensors).";
            if (!File.Exists(WeightsPath)) return $"{SectionName}:WeightsPath '{WeightsPath}': no such file.";
            if (!Backends.Names.Contains(Backend?.Trim().ToLowerInvariant())) return $"{SectionName}:Backend '{Backend}': choose one of {string.Join(", ", Backends.Names)}.";
        }
        if (MaxBatchSize < 1) return $"{SectionName}:MaxBatchSize must be at least 1, got {MaxBatchSize}.";
        if (ComputeBatchSize < 1) return $"{SectionName}:ComputeBatchSize must be at least 1, got {ComputeBatchSize}.";
        if (MaxMessageSizeBytes < 1024 * 1024) return $"{SectionName}:MaxMessageSizeBytes must be at least 1 MiB, got {MaxMessageSizeBytes}.";
        return null;
    }

    internal StyleGan.Generator CreateGenerator()
    {
        if (GeneratorFactory is { } factory) return factory();
        var weights = StyleGan.Weights.GeneratorWeights.Load(WeightsPath!);
        var backend = Backends.Create(Backend);
        try
        {
            return new StyleGan.Generator(backend, weights);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }
}

/// <summary>Reports <see cref="GeneratorServiceOptions.Problem"/> as an <see cref="OptionsValidationException"/> when the host starts.</summary>
internal sealed class GeneratorServiceOptionsValidation : IValidateOptions<GeneratorServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, GeneratorServiceOptions options) =>
        options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
