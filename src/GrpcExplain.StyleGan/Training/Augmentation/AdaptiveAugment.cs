namespace GrpcExplain.StyleGan.Training.Augmentation;

/// <summary>
/// The controller's whole state, for checkpoints: the current p, the signs of D(real) summed since the
/// last adjustment and how many there were, and the number of <see cref="AdaptiveAugment.Update"/> calls.
/// </summary>
public sealed record AdaptiveAugmentState(double P, double SignSum, int Count, int Steps);

/// <summary>
/// StyleGAN2-ADA's p controller. D overfits when it grows sure of the reals:
/// r_t = E[sign(D(real))] near 1 means it separates the training set from everything else. Every
/// intervalSteps updates, p moves by sign(r_t − target)·batchSize·intervalSteps/(speedKimg·1000), so p
/// can go from 0 to 1 in speedKimg thousand real images (ADA's ada_kimg = 500), clamped to [0, 1]
/// (ADA clamps at 0 only; past 1 every transform is already always applied).
/// </summary>
public sealed class AdaptiveAugment
{
    private readonly double _target, _speedKimg;
    private readonly int _interval;
    private double _p, _signSum;
    private int _count, _steps;

    public AdaptiveAugment(double target = 0.6, int intervalSteps = 4, double speedKimg = 500, double initialP = 0)
    {
        if (!(target >= 0 && target <= 1))
            throw new ArgumentOutOfRangeException(nameof(target), target, "The target r_t must be in [0, 1] (ADA uses 0.6).");
        if (intervalSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(intervalSteps), intervalSteps, "intervalSteps must be at least 1.");
        if (!(speedKimg > 0) || !double.IsFinite(speedKimg))
            throw new ArgumentOutOfRangeException(nameof(speedKimg), speedKimg, "speedKimg must be a positive finite number of thousands of images.");
        if (!(initialP >= 0 && initialP <= 1))
            throw new ArgumentOutOfRangeException(nameof(initialP), initialP, "initialP must be in [0, 1].");
        (_target, _interval, _speedKimg, _p) = (target, intervalSteps, speedKimg, initialP);
    }

    public double P => _p;

    /// <summary>r_t of the last adjustment; null before the first (and after <see cref="FromState"/> until the next).</summary>
    public double? LastRt { get; private set; }

    public AdaptiveAugmentState State => new(_p, _signSum, _count, _steps);

    /// <summary>Accumulates sign(D(real)) of one step; every intervalSteps-th call adjusts p.</summary>
    public void Update(float[] realLogits, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(realLogits);
        if (realLogits.Length == 0) throw new ArgumentException("realLogits is empty.", nameof(realLogits));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        double sum = 0;
        for (int i = 0; i < realLogits.Length; i++)
        {
            if (!float.IsFinite(realLogits[i]))
                throw new ArgumentException($"realLogits[{i}] is {realLogits[i]}: the discriminator's outputs must be finite.", nameof(realLogits));
            sum += Math.Sign(realLogits[i]);
        }
        _signSum += sum;
        _count += realLogits.Length;
        _steps++;
        if (_steps % _interval != 0) return;

        double rt = _signSum / _count;
        double adjust = Math.Sign(rt - _target) * (double)batchSize * _interval / (_speedKimg * 1000);
        _p = Math.Clamp(_p + adjust, 0, 1);
        LastRt = rt;
        (_signSum, _count) = (0, 0);
    }

    /// <summary>Restores a controller from a checkpoint; it continues exactly as the saved one would have.</summary>
    public static AdaptiveAugment FromState(AdaptiveAugmentState state, double target = 0.6, int intervalSteps = 4, double speedKimg = 500)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!(state.P >= 0 && state.P <= 1))
            throw new ArgumentException($"The saved p {state.P} is outside [0, 1].", nameof(state));
        if (state.Count < 0 || state.Steps < 0)
            throw new ArgumentException($"The saved Count ({state.Count}) and Steps ({state.Steps}) must not be negative.", nameof(state));
        if (!double.IsFinite(state.SignSum) || Math.Abs(state.SignSum) > state.Count)
            throw new ArgumentException($"The saved SignSum {state.SignSum} is not a sum of {state.Count} signs.", nameof(state));
        return new AdaptiveAugment(target, intervalSteps, speedKimg, state.P)
        {
            _signSum = state.SignSum,
            _count = state.Count,
            _steps = state.Steps,
        };
    }
}
