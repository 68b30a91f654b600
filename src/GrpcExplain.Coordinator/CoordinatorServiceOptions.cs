using GrpcExplain.Explain;
using GrpcExplain.Explain.Directions;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Coordinator;

/// <summary>
/// One coordinator: the generator and classifier services it uses, where it keeps fitted directions,
/// and the defaults of requests that leave a field unset. Bound from the configuration section
/// "Coordinator" by Program (<c>--Coordinator:GeneratorAddress=http://127.0.0.1:50051</c>).
/// </summary>
public sealed class CoordinatorServiceOptions
{
    public const string SectionName = "Coordinator";

    /// <summary>The generator service (grpcexplain.v1.GeneratorService), http://host:port.</summary>
    public string? GeneratorAddress { get; set; }

    /// <summary>The Open Inference Protocol server of the classifiers (ours, Triton or KServe), http://host:port.</summary>
    public string? ClassifierAddress { get; set; }

    /// <summary>
    /// Where the coordinator finds each classifier's classifier.json (MODEL/classifier.json below this
    /// folder, as in a model repository): how to feed the model our images and read its output. For our
    /// classifier service this is its model repository; for Triton or KServe, a folder of those files.
    /// </summary>
    public string? ClassifierConfigRepository { get; set; }

    /// <summary>The SQLite file of fitted directions; created when missing.</summary>
    public string DirectionDatabasePath { get; set; } = "directions.db";

    /// <summary>Frames of a walk when the request leaves num_frames 0, and the most a request may ask for.</summary>
    public int DefaultNumFrames { get; set; } = 9;

    public int MaxNumFrames { get; set; } = 256;

    /// <summary>The alpha range of a request that gives no walk.</summary>
    public float DefaultAlphaStart { get; set; } = -3f;

    public float DefaultAlphaEnd { get; set; } = 3f;

    /// <summary>Latents sampled for a linear probe when the request leaves num_samples 0, and the most it may ask for.</summary>
    public int DefaultProbeSamples { get; set; } = 1000;

    public int MaxProbeSamples { get; set; } = 100_000;

    public double DefaultHeldOutFraction { get; set; } = 0.2;

    /// <summary>The probe's L2 penalty λ (see <see cref="LogisticRegression"/>).</summary>
    public double ProbeL2 { get; set; } = 1.0;

    /// <summary>Antithetic probe pairs and their radius (W units) of the black-box gradient estimate.</summary>
    public int BlackBoxProbes { get; set; } = 32;

    public float BlackBoxRadius { get; set; } = 1f;

    /// <summary>Side of the occlusion heat map's patches in pixels; 0 means an eighth of the image.</summary>
    public int OcclusionPatch { get; set; }

    /// <summary>Most projection steps a request may ask for (0 in a request means the generator's default).</summary>
    public int MaxProjectionSteps { get; set; } = 10_000;

    /// <summary>Deadline of one call to the generator or the classifier; a service that stops answering ends the stream with UNAVAILABLE after this, not a hang.</summary>
    public TimeSpan DependencyCallTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Deadline of one projection (a long stream of steps).</summary>
    public TimeSpan ProjectionTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long a health check waits for the generator and the classifier.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Largest message in and out, on this service and its channels: images pass gRPC's 4 MB default.</summary>
    public int MaxMessageSizeBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Largest image file, in pixels, that the service decodes (checked in the file's header, before decoding): a file of any size is fitted to the generator's.</summary>
    public long MaxImagePixels { get; set; } = 4096L * 4096;

    /// <summary>gzip responses when the client accepts gzip (PNG frames shrink little; tensors somewhat).</summary>
    public bool CompressResponses { get; set; } = true;

    internal ExplainerSettings ExplainerSettings => new(BlackBoxProbes, BlackBoxRadius, OcclusionPatch);

    /// <summary>Every wrong setting, in words.</summary>
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        if (!IsHttpUri(GeneratorAddress)) p.Add($"{SectionName}:GeneratorAddress '{GeneratorAddress}' is not an http(s)://host:port address of the generator service.");
        if (!IsHttpUri(ClassifierAddress)) p.Add($"{SectionName}:ClassifierAddress '{ClassifierAddress}' is not an http(s)://host:port address of the classifier (Open Inference Protocol) service.");
        if (string.IsNullOrWhiteSpace(ClassifierConfigRepository)) p.Add($"{SectionName}:ClassifierConfigRepository is not set: name the folder with MODEL/classifier.json for each classifier.");
        else if (!Directory.Exists(ClassifierConfigRepository)) p.Add($"{SectionName}:ClassifierConfigRepository '{ClassifierConfigRepository}': no such folder.");
        if (string.IsNullOrWhiteSpace(DirectionDatabasePath)) p.Add($"{SectionName}:DirectionDatabasePath is not set.");
        if (DefaultNumFrames < 2 || MaxNumFrames < DefaultNumFrames) p.Add($"{SectionName}:DefaultNumFrames must be at least 2 and at most MaxNumFrames ({DefaultNumFrames}, {MaxNumFrames}).");
        if (!float.IsFinite(DefaultAlphaStart) || !float.IsFinite(DefaultAlphaEnd) || DefaultAlphaStart == DefaultAlphaEnd) p.Add($"{SectionName}:DefaultAlphaStart and DefaultAlphaEnd must be finite and differ.");
        if (DefaultProbeSamples < 10 || MaxProbeSamples < DefaultProbeSamples) p.Add($"{SectionName}:DefaultProbeSamples must be at least 10 and at most MaxProbeSamples.");
        if (!(DefaultHeldOutFraction > 0 && DefaultHeldOutFraction < 1)) p.Add($"{SectionName}:DefaultHeldOutFraction must be between 0 and 1.");
        if (!(ProbeL2 > 0) || !double.IsFinite(ProbeL2)) p.Add($"{SectionName}:ProbeL2 must be positive.");
        if (BlackBoxProbes < 1 || !(BlackBoxRadius > 0) || !float.IsFinite(BlackBoxRadius)) p.Add($"{SectionName}:BlackBoxProbes and BlackBoxRadius must be positive.");
        if (OcclusionPatch < 0 || MaxProjectionSteps < 1) p.Add($"{SectionName}:OcclusionPatch must not be negative and MaxProjectionSteps must be positive.");
        if (DependencyCallTimeout <= TimeSpan.Zero || ProjectionTimeout <= TimeSpan.Zero || HealthCheckTimeout <= TimeSpan.Zero) p.Add($"{SectionName}: timeouts must be positive.");
        if (MaxImagePixels < 1) p.Add($"{SectionName}:MaxImagePixels must be at least 1, got {MaxImagePixels}.");
        if (MaxMessageSizeBytes < 1024 * 1024) p.Add($"{SectionName}:MaxMessageSizeBytes must be at least 1 MiB, got {MaxMessageSizeBytes}.");
        return p;
    }

    private static bool IsHttpUri(string? address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

internal sealed class CoordinatorServiceOptionsValidation : IValidateOptions<CoordinatorServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, CoordinatorServiceOptions options) =>
        options.Problems() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
