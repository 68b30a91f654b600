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

    /// <summary>
    /// The generator's encoder, which warm-starts projections: unset means encoder.safetensors beside
    /// <see cref="WeightsPath"/> when there is one; "none" turns it off. An encoder trained for other weights
    /// is refused (a warning in the log) and projections start from the mean w.
    /// </summary>
    public string? EncoderPath { get; set; }

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

    /// <summary>Projection steps when a request asks for 0 (NVIDIA's projector.py runs 1000).</summary>
    public int ProjectionDefaultSteps { get; set; } = 1000;

    /// <summary>Projection steps when a request asks for 0 and the projection starts from the encoder: on the trained defaults 40 steps from it reconstruct real images as well as 100 from the mean w (docs/benchmarks.md).</summary>
    public int ProjectionEncoderDefaultSteps { get; set; } = 40;

    /// <summary>The most projection steps one request may ask for.</summary>
    public int ProjectionMaxSteps { get; set; } = 10_000;

    /// <summary>Mapped samples whose mean w starts every projection (computed once, by the first projection).</summary>
    public int ProjectionWAvgSamples { get; set; } = 10_000;

    /// <summary>Steps between the reconstructions a projection streams, when a request asks for 0.</summary>
    public int ProjectionReconstructionIntervalSteps { get; set; } = 100;

    /// <summary>Largest PNG or JPEG file a request may carry, checked before it is read.</summary>
    public int MaxEncodedImageBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest image, in pixels, that the service decodes (from the file's header, before decoding).</summary>
    public long MaxImagePixels { get; set; } = 4096L * 4096;

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
        if (ProjectionMaxSteps < 1) return $"{SectionName}:ProjectionMaxSteps must be at least 1, got {ProjectionMaxSteps}.";
        if (ProjectionDefaultSteps < 1 || ProjectionDefaultSteps > ProjectionMaxSteps)
            return $"{SectionName}:ProjectionDefaultSteps must be from 1 to ProjectionMaxSteps ({ProjectionMaxSteps}), got {ProjectionDefaultSteps}.";
        if (ProjectionEncoderDefaultSteps < 1 || ProjectionEncoderDefaultSteps > ProjectionMaxSteps)
            return $"{SectionName}:ProjectionEncoderDefaultSteps must be from 1 to ProjectionMaxSteps ({ProjectionMaxSteps}), got {ProjectionEncoderDefaultSteps}.";
        if (EncoderPath is { } e && !string.Equals(e, "none", StringComparison.OrdinalIgnoreCase) && !File.Exists(e))
            return $"{SectionName}:EncoderPath '{e}': no such file (leave it unset to use encoder.safetensors beside the weights when there is one, or 'none').";
        if (ProjectionWAvgSamples < 1) return $"{SectionName}:ProjectionWAvgSamples must be at least 1, got {ProjectionWAvgSamples}.";
        if (ProjectionReconstructionIntervalSteps < 1) return $"{SectionName}:ProjectionReconstructionIntervalSteps must be at least 1, got {ProjectionReconstructionIntervalSteps}.";
        if (MaxEncodedImageBytes < 1) return $"{SectionName}:MaxEncodedImageBytes must be at least 1, got {MaxEncodedImageBytes}.";
        if (MaxImagePixels < 1) return $"{SectionName}:MaxImagePixels must be at least 1, got {MaxImagePixels}.";
        return null;
    }

    /// <summary>The encoder file to try for <paramref name="generator"/>, or null for none.</summary>
    internal string? EncoderFile() =>
        EncoderPath is { } e ? (string.Equals(e, "none", StringComparison.OrdinalIgnoreCase) ? null : e)
        : WeightsPath is { } w && GeneratorFactory is null ? StyleGan.Encoding.EncoderWeights.PathBeside(w) : null;

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
