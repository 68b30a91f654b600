using GrpcExplain.Classifiers;

namespace GrpcExplain.Explain.Generation;

/// <summary>The generator an explanation uses, as GetModelInfo describes it.</summary>
/// <param name="WeightsSha256">Hash of its parameters and architecture: equal hashes, equal generators (the direction store's key).</param>
/// <param name="MaxBatchSize">The most samples one call may carry.</param>
public sealed record GeneratorInfo(int ZDim, int CDim, int WDim, int NumWs, int ImageChannels, int ImageResolution, string WeightsSha256, int MaxBatchSize)
{
    public int ImageLength => ImageChannels * ImageResolution * ImageResolution;
}

/// <summary>
/// A StyleGAN2 generator as the method needs it: mapping, synthesis and the latent gradient. The
/// coordinator implements it over the generator service; tests over small fakes. Calls carry at most
/// <see cref="GeneratorInfo.MaxBatchSize"/> samples. Implementations throw <see cref="DependencyException"/>
/// when the generator fails or cannot be reached, and <see cref="OperationCanceledException"/> when
/// the token is cancelled.
/// </summary>
public interface IGeneratorClient
{
    Task<GeneratorInfo> GetInfoAsync(CancellationToken cancellationToken);

    /// <summary>z [count, z_dim] (and c [count, c_dim] for a conditional generator) to W latents [count, w_dim], truncated by psi.</summary>
    Task<Latents> MapAsync(float[] z, float[]? c, int count, float truncationPsi, CancellationToken cancellationToken);

    /// <summary>Latents to images [N, channels, res, res] in [-1, 1], with their <see cref="Latents.NoiseMaps"/>, or else the generator's stored noise.</summary>
    Task<ImageBatch> SynthesizeAsync(Latents ws, CancellationToken cancellationToken);

    /// <summary>dL/d(latents) for dL/d(images) [N, channels, res, res] of the images the latents synthesise (with their noise maps, as <see cref="SynthesizeAsync"/>); the shape of <paramref name="ws"/>.</summary>
    Task<Latents> LatentGradientAsync(Latents ws, float[] imageGradient, CancellationToken cancellationToken);
}

/// <summary>
/// Finds a real image's latent (step 2 of the method): by projection, warm-started by the generator's
/// encoder when it has one. Streams progress, then exactly one <see cref="Projection"/>.
/// </summary>
public interface ILatentEncoder
{
    IAsyncEnumerable<ProjectionEvent> ProjectAsync(ImageBatch image, ProjectionOptions options, CancellationToken cancellationToken);
}

/// <summary>How to project: W or W+, steps (0: the generator's default), noise optimisation.</summary>
public sealed record ProjectionOptions(bool WPlus = false, int NumSteps = 0, bool OptimizeNoise = false);

/// <summary>One message of a projection: <see cref="ProjectionProgress"/> while it runs, then a <see cref="Projection"/>.</summary>
public abstract record ProjectionEvent;

public sealed record ProjectionProgress(int Step, int NumSteps, float Loss, double ElapsedSeconds) : ProjectionEvent;

/// <summary>The latents found ([1, w_dim] or [1, num_ws, w_dim], with the noise maps when they were optimised too) and the image they synthesise; <paramref name="FromEncoder"/>: the steps started from the generator's encoder, not from the mean w.</summary>
public sealed record Projection(Latents Ws, ImageBatch Reconstruction, float MeanSquaredError, bool FromEncoder = false) : ProjectionEvent;

/// <summary>Which service of an explanation failed.</summary>
public enum Dependency
{
    Generator,
    Classifier,
}

/// <summary>
/// The generator or the classifier failed or went away while it was needed: the coordinator ends
/// the call with UNAVAILABLE and this message, which names the service.
/// </summary>
public sealed class DependencyException : Exception
{
    public DependencyException(Dependency dependency, string message, Exception? inner = null) : base(message, inner) => Dependency = dependency;

    public Dependency Dependency { get; }
}
