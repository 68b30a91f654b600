using System.Runtime.CompilerServices;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Generation;

namespace GrpcExplain.Explain.Walks;

/// <summary>Where a walk goes along the direction.</summary>
public abstract record WalkPlan(int NumFrames);

/// <summary>From <paramref name="Start"/> to <paramref name="End"/> (included) in NumFrames equal steps.</summary>
public sealed record AlphaRangeWalk(float Start, float End, int NumFrames) : WalkPlan(NumFrames)
{
    public float Alpha(int index) => NumFrames == 1 ? Start : Start + (End - Start) * index / (NumFrames - 1);
}

/// <summary>
/// From the reconstruction (alpha 0) towards the target class in steps of MaxAbsAlpha / (NumFrames − 1),
/// stopping at the first frame whose target probability reaches <paramref name="TargetProbability"/>.
/// </summary>
public sealed record UntilProbabilityWalk(float TargetProbability, float MaxAbsAlpha, int NumFrames) : WalkPlan(NumFrames)
{
    public float Alpha(int index) => MaxAbsAlpha * index / Math.Max(1, NumFrames - 1);
}

/// <summary>One step of the walk: the latent moved by alpha × direction, its image and the classifier's prediction.</summary>
public sealed record WalkFrame(int Index, float Alpha, ImageBatch Image, ClassPrediction Prediction, double RmsDistanceToReconstruction);

/// <summary>
/// Step 4 of the method: w + alpha × d for the plan's alphas, each frame synthesised, classified and
/// yielded as soon as it is ready. The next frame is synthesised while the current one is classified.
/// </summary>
public static class Walk
{
    public static async IAsyncEnumerable<WalkFrame> RunAsync(IGeneratorClient generator, IClassifier classifier, Latents start, ImageBatch reconstruction,
        float[] direction, WalkPlan plan, int targetClass, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(reconstruction);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentOutOfRangeException.ThrowIfLessThan(plan.NumFrames, 1);
        Func<int, float> alphaOf = plan switch
        {
            AlphaRangeWalk range => range.Alpha,
            UntilProbabilityWalk until => until.Alpha,
            _ => throw new ArgumentException($"Unknown walk plan {plan.GetType().Name}.", nameof(plan)),
        };
        using var overlap = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<ImageBatch> Synthesize(int index) => generator.SynthesizeAsync(start.Moved(direction, alphaOf(index)), overlap.Token);
        Task<ImageBatch>? next = Synthesize(0);
        try
        {
            for (int index = 0; index < plan.NumFrames; index++)
            {
                var image = await next!.ConfigureAwait(false);
                next = index + 1 < plan.NumFrames ? Synthesize(index + 1) : null;
                var prediction = await ClassPrediction.OfAsync(classifier, image, cancellationToken).ConfigureAwait(false);
                yield return new WalkFrame(index, alphaOf(index), image, prediction, ImageDistance.RootMeanSquare(image.Pixels, reconstruction.Pixels));
                if (plan is UntilProbabilityWalk until && prediction.Probability(targetClass) >= until.TargetProbability) yield break;
            }
        }
        finally
        {
            // A walk that stopped early (target reached, error, cancellation) leaves one synthesis in flight: stop it and observe it.
            if (next is not null)
            {
                await overlap.CancelAsync().ConfigureAwait(false);
                await next.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }
}
