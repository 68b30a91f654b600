using System.Diagnostics;
using System.Runtime.CompilerServices;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Directions;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Explain.HeatMaps;
using GrpcExplain.Explain.Walks;

namespace GrpcExplain.Explain;

/// <summary>How the direction in latent space is found.</summary>
public enum DirectionMethod
{
    /// <summary>The paper's linear probe in W, fitted once per generator, classifier and class and stored.</summary>
    LinearProbe,

    /// <summary>∇_w of the target logit at the reconstruction, through a white-box classifier's image gradient.</summary>
    Gradient,

    /// <summary>That gradient estimated from classifier calls alone (antithetic random probes in W).</summary>
    BlackBoxGradientEstimate,
}

/// <summary>One image to explain, and how.</summary>
/// <param name="Image">One image [1, C, H, W] in [-1, 1], of the generator's size.</param>
/// <param name="StoredDirection">A linear-probe direction chosen by id; null means the stored one for this generator, classifier and class (fitted when missing).</param>
public sealed record ExplainJob(ImageBatch Image, int TargetClass, DirectionMethod Method, WalkPlan Walk, ProjectionOptions Projection,
    ProbeSettings ProbeSettings, StoredDirection? StoredDirection = null);

/// <summary>Settings of the explainer itself (the coordinator's defaults).</summary>
/// <param name="BlackBoxProbes">Antithetic pairs of the black-box gradient estimate.</param>
/// <param name="BlackBoxRadius">Their step length in W units.</param>
/// <param name="OcclusionPatch">Occluded square's side in pixels; 0 means an eighth of the image.</param>
public sealed record ExplainerSettings(int BlackBoxProbes = 32, float BlackBoxRadius = 1f, int OcclusionPatch = 0, int OcclusionStride = 0, int Seed = 0);

/// <summary>One message of an explanation, in the order they come.</summary>
public abstract record ExplanationEvent;

public sealed record OriginalPredicted(ClassPrediction Prediction, ImageBatch Input) : ExplanationEvent;

public sealed record ProjectionProgressed(ProjectionProgress Progress) : ExplanationEvent;

/// <param name="Warning">Null when the classifier predicts the same class for the input and the reconstruction.</param>
public sealed record Reconstructed(Projection Projection, ClassPrediction Prediction, string? Warning) : ExplanationEvent;

/// <param name="Stored">The stored direction, for a linear probe.</param>
public sealed record DirectionChosen(DirectionMethod Method, float[] Vector, StoredDirection? Stored) : ExplanationEvent;

public sealed record FrameMade(WalkFrame Frame) : ExplanationEvent;

public sealed record HeatMapMade(HeatMap HeatMap, ImageBatch Original) : ExplanationEvent;

public sealed record Summarised(WalkSummary Summary, double ElapsedSeconds) : ExplanationEvent;

/// <summary>
/// The method, as the coordinator runs it (DESIGN.md): predict the input; project it; find the
/// direction; walk it; summarise, with a heat map of the input for comparison (Grad-CAM from a white-box
/// classifier, occlusion sensitivity from a black box). Events are yielded as soon as each exists, so one
/// reader writes them to a stream in order. The heat map needs only the input and the classifier, so it
/// is computed alongside the projection and the walk.
/// Cancelling the token stops every call in flight.
/// </summary>
public sealed class Explainer(IGeneratorClient generator, ILatentEncoder encoder, LinearProbeDirections probes, ExplainerSettings settings)
{
    public async IAsyncEnumerable<ExplanationEvent> ExplainAsync(ExplainJob job, IClassifier classifier, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(classifier);
        var clock = Stopwatch.StartNew();
        using var sideWork = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var original = await ClassPrediction.OfAsync(classifier, job.Image, cancellationToken).ConfigureAwait(false);
        yield return new OriginalPredicted(original, job.Image);

        var heatMap = GradCamHeatMap.OfAsync(classifier, job.Image, job.TargetClass, settings.OcclusionPatch, settings.OcclusionStride, sideWork.Token);
        try
        {
            Projection? projection = null;
            await foreach (var e in encoder.ProjectAsync(job.Image, job.Projection, cancellationToken).ConfigureAwait(false))
            {
                switch (e)
                {
                    case ProjectionProgress progress:
                        yield return new ProjectionProgressed(progress);
                        break;
                    case Projection result:
                        projection = result;
                        break;
                }
            }
            if (projection is null) throw new DependencyException(Dependency.Generator, "The generator's projection ended without a result.");
            var reconstructed = await ClassPrediction.OfAsync(classifier, projection.Reconstruction, cancellationToken).ConfigureAwait(false);
            string? warning = reconstructed.PredictedClass == original.PredictedClass ? null
                : $"The classifier predicts class {Name(reconstructed, reconstructed.PredictedClass)} for the reconstruction but {Name(original, original.PredictedClass)} " +
                  $"for the input: the walk explains the reconstruction's prediction, not the input's (reconstruction MSE {projection.MeanSquaredError:G3}).";
            yield return new Reconstructed(projection, reconstructed, warning);

            var direction = await DirectionAsync(job, classifier, projection.Ws, cancellationToken).ConfigureAwait(false);
            yield return direction;

            var summary = new WalkSummaryBuilder(reconstructed.PredictedClass, job.TargetClass);
            await foreach (var frame in Walk.RunAsync(generator, classifier, projection.Ws, projection.Reconstruction, direction.Vector, job.Walk, job.TargetClass, cancellationToken)
                .ConfigureAwait(false))
            {
                summary.Add(frame);
                yield return new FrameMade(frame);
            }

            yield return new HeatMapMade(await heatMap.ConfigureAwait(false), job.Image);
            yield return new Summarised(summary.Build(), clock.Elapsed.TotalSeconds);
        }
        finally
        {
            if (!heatMap.IsCompleted)
            {
                await sideWork.CancelAsync().ConfigureAwait(false);
                await heatMap.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }

    private async Task<DirectionChosen> DirectionAsync(ExplainJob job, IClassifier classifier, Latents ws, CancellationToken cancellationToken)
    {
        switch (job.Method)
        {
            case DirectionMethod.LinearProbe:
                var stored = job.StoredDirection
                    ?? (await probes.GetOrFitAsync(generator, classifier, job.TargetClass, job.ProbeSettings, refit: false, progress: null, cancellationToken).ConfigureAwait(false)).Direction;
                return new DirectionChosen(DirectionMethod.LinearProbe, stored.Vector, stored);
            case DirectionMethod.Gradient:
                if (classifier is not IImageGradientClassifier whiteBox)
                    throw new ArgumentException($"Classifier '{classifier.Description.Model}' is a black box (it gives no image gradient): use the black-box gradient estimate or the linear probe.");
                return new DirectionChosen(DirectionMethod.Gradient, await GradientDirection.WhiteBoxAsync(generator, whiteBox, ws, job.TargetClass, cancellationToken).ConfigureAwait(false), null);
            case DirectionMethod.BlackBoxGradientEstimate:
                var estimate = await GradientDirection.BlackBoxEstimateAsync(generator, classifier, ws, job.TargetClass, settings.BlackBoxProbes, settings.BlackBoxRadius,
                    settings.Seed, cancellationToken).ConfigureAwait(false);
                return new DirectionChosen(DirectionMethod.BlackBoxGradientEstimate, estimate, null);
            default:
                throw new ArgumentOutOfRangeException(nameof(job), job.Method, "Unknown direction method.");
        }
    }

    private static string Name(ClassPrediction prediction, int index) =>
        index < prediction.ClassLabels.Count ? $"{index} ('{prediction.ClassLabels[index]}')" : index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
