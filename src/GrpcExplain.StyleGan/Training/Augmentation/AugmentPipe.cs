namespace GrpcExplain.StyleGan.Training.Augmentation;

/// <summary>
/// Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial Networks
/// with Limited Data"): everything the discriminator sees, reals and fakes alike, goes through the same
/// random transforms, each applied to each sample with probability <see cref="P"/>. Below p ≈ 0.8 the
/// transforms do not leak into the generator (it cannot tell which images were augmented), while D
/// sees far more variety than a small dataset holds; <see cref="AdaptiveAugment"/> sets P.
///
/// Fakes must stay differentiable: <see cref="AugmentedBatch.Backward"/> carries D's image gradient
/// back through the same draw to the generator's output. Host arrays are enough here: a batch of
/// 64x64 images is a few MB, and the transforms are copies and per-sample affine maps.
/// </summary>
public sealed class AugmentPipe
{
    private readonly AugmentOptions _options;
    private double _p;

    public AugmentPipe(AugmentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>The probability each transform is applied to each sample; 0 is the identity.</summary>
    public double P
    {
        get => _p;
        set
        {
            if (!(value >= 0 && value <= 1))
                throw new ArgumentOutOfRangeException(nameof(P), value, "The augmentation probability P must be in [0, 1].");
            _p = value;
        }
    }

    /// <summary>
    /// Augments images [n, channels, size, size] (in [-1, 1]); the draw is a pure function of seed
    /// (and P and the options), so a resumed run that passes the same seeds sees the same augmentations.
    /// The input is not changed.
    /// </summary>
    public AugmentedBatch Apply(float[] images, int n, int channels, int size, int seed)
    {
        AugmentedBatch.CheckShape(images, nameof(images), n, channels, size);
        if (_options.Color && channels != 1 && channels != 3)
            throw new ArgumentException($"Colour augmentation needs grey (1 channel) or RGB (3 channel) images, not {channels} channels; turn AugmentOptions.Color off for other images.", nameof(channels));

        var draws = new SampleDraw[n];
        for (int i = 0; i < n; i++) draws[i] = _p > 0 ? SampleDraw.Draw(_options, _p, seed, i, size) : SampleDraw.Identity;

        return AugmentedBatch.Forward(images, draws, n, channels, size);
    }
}
