using GrpcExplain.Classifiers;
using GrpcExplain.Kernels;
using DirectionMethod = GrpcExplain.Explain.DirectionMethod;

namespace GrpcExplain.Cli.Explain;

/// <summary>
/// What <c>grpcexplain explain</c> was asked to do, checked as far as the command line alone allows
/// (the class labels and the image's fit are checked once the classifier and generator are known).
/// </summary>
/// <param name="Coordinator">The coordinator's address; null runs the method in this process on the bundled models.</param>
/// <param name="Target">The target class as written: an index, or (in process) a class label.</param>
/// <param name="MaxAlpha">How far the walk may go; null: four spreads of the generator's latents along the direction (in process) or <see cref="CoordinatorMaxAlpha"/>.</param>
/// <param name="StopAt">Stop at the first frame whose target probability reaches this; null walks every frame.</param>
/// <param name="ProjectionSteps">0: the default (in process, fewer when the generator has an encoder; with a coordinator <see cref="DefaultProjectionSteps"/>).</param>
/// <param name="Fit">How an image file of another size reaches the generator's; null: as the classifier was trained (its classifier.json's fit).</param>
internal sealed record ExplainSettings(
    string ImagePath,
    Uri? Coordinator,
    string Classifier,
    string Target,
    int Frames,
    string OutputDirectory,
    int ProjectionSteps,
    bool WPlus,
    DirectionMethod Method,
    float? MaxAlpha,
    float? StopAt,
    string? ModelsDirectory,
    BackendKind Backend,
    int ProbeSamples,
    string DirectionsPath,
    ImageFit? Fit = null)
{
    public const int DefaultFrames = 16;
    public const int MaxFrames = 256;
    public const int DefaultProjectionSteps = 100;
    public const int MaxProjectionSteps = 10_000;
    public const float DefaultStopAt = 0.9f;
    public const int DefaultProbeSamples = 1000;

    /// <summary>Spreads of the latents along the direction that the default walk may cover: from a typical input two spreads on one side to two on the other.</summary>
    public const float SpreadsWalked = 4f;

    /// <summary>
    /// The walk's reach with a coordinator when --max-alpha is not given: the client cannot sample the
    /// generator's latents, so it takes the coordinator's own default range end.
    /// </summary>
    public const float CoordinatorMaxAlpha = 3f;

    /// <summary>Where fitted directions are kept between runs in process (per user, like a cache).</summary>
    public static string DefaultDirectionsPath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "grpcexplain", "directions.db");
}
