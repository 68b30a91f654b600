namespace GrpcExplain.Explain.Walks;

/// <summary>
/// Step 5 of the method: what a walk showed. <paramref name="FlipAlpha"/> is the alpha nearest the
/// reconstruction (alpha 0) whose predicted class differs from the reconstruction's, null when none
/// does; <paramref name="Spearman"/> the rank correlation of alpha and the target probability (how
/// monotone the walk is); <paramref name="RmsTotalImageChange"/> the RMS difference of the first and
/// last frames, in [-1, 1] units.
/// </summary>
public sealed record WalkSummary(float? FlipAlpha, double Spearman, double RmsTotalImageChange, int NumFrames);

/// <summary>Collects a walk's frames as they stream (alphas and predictions; of the images only the first and last) and summarises them.</summary>
public sealed class WalkSummaryBuilder(int reconstructionClass, int targetClass)
{
    private readonly List<(float Alpha, ClassPrediction Prediction)> _steps = [];
    private float[]? _first;
    private float[]? _last;

    public void Add(WalkFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        _steps.Add((frame.Alpha, frame.Prediction));
        _first ??= frame.Image.Pixels;
        _last = frame.Image.Pixels;
    }

    public WalkSummary Build()
    {
        if (_steps.Count == 0) return new WalkSummary(null, 0, 0, 0);
        float? flip = null;
        foreach (var (alpha, prediction) in _steps)
        {
            if (prediction.PredictedClass == reconstructionClass) continue;
            // Nearest to alpha 0; on a tie the step towards the target (positive alpha) wins.
            if (flip is not { } best || Math.Abs(alpha) < Math.Abs(best) || (Math.Abs(alpha) == Math.Abs(best) && alpha > best)) flip = alpha;
        }
        double spearman = RankStatistics.Spearman([.. _steps.Select(s => (double)s.Alpha)], [.. _steps.Select(s => (double)s.Prediction.Probability(targetClass))]);
        return new WalkSummary(flip, spearman, ImageDistance.RootMeanSquare(_first, _last), _steps.Count);
    }
}
