namespace GrpcExplain.StyleGan.Projection;

/// <summary>Which latents projection optimises: one w read by every layer, or one per layer (W+).</summary>
public enum LatentSpace { W, WPlus }

/// <summary>
/// Where projection starts: <see cref="Auto"/> is the generator's encoder when the projector has one, else
/// the mean w; <see cref="WAvg"/> the mean w of mapped samples (NVIDIA's projector.py); <see cref="Encoder"/>
/// the encoder's w for the target (an error when there is no encoder).
/// </summary>
public enum ProjectionStart { Auto, WAvg, Encoder }

/// <summary>
/// How <see cref="Projector"/> optimises. The schedule is NVIDIA projector.py's: the learning rate
/// ramps up over the first <see cref="LearningRateRampUp"/> of the steps and down along a half cosine
/// over the last <see cref="LearningRateRampDown"/>; Gaussian noise of <see cref="InitialWNoiseFactor"/>
/// times the samples' spread is added to w, fading quadratically to 0 at <see cref="WNoiseRampLength"/>
/// of the steps. The loss is <see cref="PixelWeight"/>·MSE + <see cref="StructuralWeight"/>·(1 − MS-SSIM)
/// (NVIDIA uses LPIPS features of VGG16, which we have no network for), plus, when noise maps are
/// optimised, <see cref="NoiseRegularizationWeight"/> times NVIDIA's noise penalty.
/// </summary>
public sealed record ProjectionOptions
{
    public LatentSpace LatentSpace { get; init; } = LatentSpace.W;
    public int NumSteps { get; init; } = 1000;
    public float InitialLearningRate { get; init; } = 0.1f;
    public float LearningRateRampUp { get; init; } = 0.05f;
    public float LearningRateRampDown { get; init; } = 0.25f;
    public float InitialWNoiseFactor { get; init; } = 0.05f;
    public float WNoiseRampLength { get; init; } = 0.75f;

    public ProjectionStart Start { get; init; } = ProjectionStart.Auto;

    /// <summary>
    /// The peak learning rate and w-noise factor that replace <see cref="InitialLearningRate"/> and
    /// <see cref="InitialWNoiseFactor"/> when projection starts from the encoder's w. Measured on the
    /// trained defaults' real validation images (docs/benchmarks.md): exploration noise only leads the
    /// warm start away (−0.6 to −0.9 dB after 20 steps), while a smaller rate than the mean start's is
    /// slower for the same steps (0.01: −2 dB, 0.05: −0.3 dB), so the rate stays and the noise goes.
    /// </summary>
    public float WarmStartLearningRate { get; init; } = 0.1f;
    public float WarmStartWNoiseFactor { get; init; }

    /// <summary>Also optimise every layer's noise map, starting from Gaussian noise; otherwise the stored noise_const maps are used.</summary>
    public bool OptimizeNoise { get; init; }
    public float NoiseRegularizationWeight { get; init; } = 1e5f;
    public float PixelWeight { get; init; } = 1f;
    public float StructuralWeight { get; init; } = 0.1f;

    /// <summary>Seeds the starting noise maps and the noise added to w: equal seeds, equal projections.</summary>
    public int Seed { get; init; }

    /// <summary>Every this many steps the progress carries the current reconstruction (an extra synthesis); 0 never.</summary>
    public int ReconstructionInterval { get; init; }

    /// <summary>The first wrong setting, in words, or null.</summary>
    public string? Problem()
    {
        if (!Enum.IsDefined(LatentSpace)) return $"{(int)LatentSpace} is not a latent space.";
        if (!Enum.IsDefined(Start)) return $"{(int)Start} is not a projection start.";
        if (!(WarmStartLearningRate > 0) || !float.IsFinite(WarmStartLearningRate)) return $"The warm-start learning rate must be positive and finite, got {WarmStartLearningRate}.";
        if (NumSteps < 1) return $"Projection needs at least one step, got {NumSteps}.";
        if (!(InitialLearningRate > 0) || !float.IsFinite(InitialLearningRate)) return $"The learning rate must be positive and finite, got {InitialLearningRate}.";
        foreach (var (name, v) in new[] { ("learning-rate ramp-up", LearningRateRampUp), ("learning-rate ramp-down", LearningRateRampDown), ("w-noise ramp", WNoiseRampLength) })
            if (!(v > 0 && v <= 1)) return $"The {name} is a fraction of the steps in (0, 1], got {v}.";
        foreach (var (name, v) in new[] { ("w-noise factor", InitialWNoiseFactor), ("warm-start w-noise factor", WarmStartWNoiseFactor), ("noise regularisation weight", NoiseRegularizationWeight), ("pixel weight", PixelWeight), ("structural weight", StructuralWeight) })
            if (!(v >= 0) || !float.IsFinite(v)) return $"The {name} must be finite and not negative, got {v}.";
        if (PixelWeight + StructuralWeight == 0) return "The pixel and structural weights are both 0: nothing would be reconstructed.";
        if (ReconstructionInterval < 0) return $"The reconstruction interval must not be negative, got {ReconstructionInterval}.";
        return null;
    }

    /// <summary>These options as a projection from the encoder's w runs them: the warm-start learning rate and w noise.</summary>
    public ProjectionOptions WarmStarted() => this with { InitialLearningRate = WarmStartLearningRate, InitialWNoiseFactor = WarmStartWNoiseFactor };

    /// <summary>The learning rate of step <paramref name="step"/> (from 0); 0 at step 0, as in projector.py.</summary>
    public double LearningRate(int step)
    {
        double t = (double)step / NumSteps;
        double ramp = Math.Min(1, (1 - t) / LearningRateRampDown);
        ramp = 0.5 - 0.5 * Math.Cos(ramp * Math.PI);
        return InitialLearningRate * ramp * Math.Min(1, t / LearningRateRampUp);
    }

    /// <summary>The standard deviation of the noise added to w at step <paramref name="step"/>, for samples of spread <paramref name="wStd"/>.</summary>
    public double WNoiseScale(int step, double wStd)
    {
        double t = (double)step / NumSteps;
        return wStd * InitialWNoiseFactor * Math.Pow(Math.Max(0, 1 - t / WNoiseRampLength), 2);
    }
}

/// <summary>
/// After step <see cref="Step"/> (from 1): the loss that step minimised (at the latents before its
/// update, with its w noise), its terms and learning rate; every <see cref="ProjectionOptions.ReconstructionInterval"/>
/// steps also the reconstruction of the updated latents, [C, res, res].
/// </summary>
public sealed record ProjectionProgress(int Step, int NumSteps, float Loss, float MeanSquaredError, float MsSsim, float LearningRate, TimeSpan Elapsed, float[]? Reconstruction);

/// <summary>
/// What projection found: <see cref="Ws"/> [w_dim] (W) or [num_ws, w_dim] (W+), the optimised noise maps
/// ([r, r] by layer) when asked for, the reconstruction [C, res, res] they synthesise, and its quality.
/// <see cref="Loss"/> is the loss of the final latents; the metrics compare the reconstruction as it is
/// shown, clamped to [-1, 1], with the target.
/// </summary>
/// <see cref="Start"/> is where the steps began: <see cref="ProjectionStart.WAvg"/> or <see cref="ProjectionStart.Encoder"/>.
public sealed record ProjectionResult(float[] Ws, LatentSpace LatentSpace, IReadOnlyDictionary<string, float[]>? NoiseMaps, float[] Reconstruction,
    float Loss, float MeanSquaredError, double PsnrDb, double Ssim, double MsSsim, int NumSteps, TimeSpan Elapsed, ProjectionStart Start = ProjectionStart.WAvg);
