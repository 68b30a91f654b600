using System.Globalization;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Training;
using GrpcExplain.StyleGan.Training.Augmentation;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Training.Gan;

/// <summary>
/// StyleGAN2 training, one minibatch at a time, as stylegan2-ada-pytorch's training_loop with
/// StyleGAN2Loss runs its phases: Gmain (non-saturating loss through D and the augmentation),
/// Dmain (logistic loss on fakes and reals), Dreg every r1_interval minibatches (lazy R1 on the
/// augmented reals with weight γ·interval), then G_ema, then the ADA controller. No path-length
/// regularisation, so G has no lazy phase and steps with the plain lr; D's optimiser carries the
/// lazy-regularisation adjustment lr·c, β^c with c = interval / (interval + 1), for both of its phases.
/// Every random draw is a function of (seed, step, purpose) (<see cref="TrainingDraws"/>), so a trainer
/// made from a <see cref="Snapshot"/> continues exactly as the original would have.
/// </summary>
public sealed class GanTrainer : IDisposable
{
    private const double Beta1 = 0, Beta2 = 0.99;

    private readonly Generator _g;
    private readonly Discriminator _d;
    private readonly ParameterSet _gParameters, _dParameters;
    private readonly float[] _wAvg;
    private readonly Dictionary<string, float[]> _ema;
    private readonly AugmentPipe _pipe;
    private readonly AdaptiveAugment? _ada;
    private readonly int _n, _numWs, _wDim, _channels, _resolution;

    /// <summary>Continues from <paramref name="snapshot"/> on <paramref name="backend"/> (which the caller keeps and disposes).</summary>
    public GanTrainer(Backend backend, GanSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(snapshot);
        Config = snapshot.Config;
        Config.Validate();
        Step = snapshot.Step;
        var gConfig = Config.Generator;
        (_n, _numWs, _wDim, _channels, _resolution) = (Config.Batch, gConfig.NumWs, gConfig.WDim, Config.Channels, Config.Resolution);

        _g = new Generator(backend, snapshot.Generator);
        _d = new Discriminator(backend, snapshot.Discriminator);
        var g = _g.GetParameters();
        _gParameters = new ParameterSet([.. gConfig.ParameterShapes().Select(p => p.Name)], g, Beta1, Beta2);
        _gParameters.Adam.Restore(snapshot.GeneratorAdam);
        _wAvg = (float[])g["mapping.w_avg"].Clone();
        double c = LazyRatio;
        _dParameters = new ParameterSet([.. Config.Discriminator.ParameterShapes().Select(p => p.Name)],
            snapshot.Discriminator.Tensors.ToDictionary(p => p.Key, p => p.Value.Data), Math.Pow(Beta1, c), Math.Pow(Beta2, c));
        _dParameters.Adam.Restore(snapshot.DiscriminatorAdam);
        _ema = snapshot.GeneratorEma.Tensors.ToDictionary(p => p.Key, p => (float[])p.Value.Data.Clone(), StringComparer.Ordinal);

        _pipe = new AugmentPipe(new AugmentOptions());
        if (Config.Ada)
        {
            _ada = snapshot.Ada is { } state
                ? AdaptiveAugment.FromState(state, Config.AdaTarget, AdaInterval, Config.AdaKimg)
                : new AdaptiveAugment(Config.AdaTarget, AdaInterval, Config.AdaKimg);
            _pipe.P = _ada.P;
        }
    }

    /// <summary>The ADA controller adjusts p every 4 minibatches (NVIDIA's ada_interval).</summary>
    public const int AdaInterval = 4;

    /// <summary>
    /// A new run: both networks initialised from the config's seed (G from <see cref="GanConfig.WarmStart"/>'s
    /// file instead when it names one), G_ema a copy of G, fresh optimisers, p = 0. A warm-start file that is
    /// missing, unreadable or of another architecture throws InvalidDataException or FileNotFoundException.
    /// </summary>
    public static GanSnapshot Initial(GanConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var g = config.WarmStart is { } path ? WarmStart(path, config.Generator)
            : GeneratorWeights.Initialize(config.Generator, TrainingDraws.Seed(config.Seed, 0, DrawPurpose.GeneratorWeights));
        var d = DiscriminatorWeights.Initialize(config.Discriminator, TrainingDraws.Seed(config.Seed, 0, DrawPurpose.DiscriminatorWeights));
        static AdamState Fresh(IEnumerable<(string Name, int[] Shape)> shapes) =>
            new([.. shapes.Select(s => new float[HostTensor.Count(s.Shape)])], [.. shapes.Select(s => new float[HostTensor.Count(s.Shape)])], 0);
        return new GanSnapshot(config, 0, g, g, d, Fresh(config.Generator.ParameterShapes()), Fresh(config.Discriminator.ParameterShapes()),
            config.Ada ? new AdaptiveAugment(config.AdaTarget, AdaInterval, config.AdaKimg).State : null);
    }

    private static GeneratorWeights WarmStart(string path, GeneratorConfig expected)
    {
        var weights = GeneratorWeights.Load(path);
        if (weights.Config != expected)
            throw new InvalidDataException($"warm start '{path}' is a generator of another architecture than this run's: {Describe(weights.Config)}, this run {Describe(expected)}.");
        return weights;
    }

    private static string Describe(GeneratorConfig c) => string.Create(CultureInfo.InvariantCulture,
        $"{c.ImgResolution}x{c.ImgResolution}x{c.ImgChannels}, z/w {c.ZDim}/{c.WDim}, c_dim {c.CDim}, {c.MappingLayers} mapping layers, channel_base {c.ChannelBase}, channel_max {c.ChannelMax}, conv_clamp {c.ConvClamp}, '{c.Architecture}'");

    public GanConfig Config { get; }

    /// <summary>Whether the next minibatch falls in <see cref="GanConfig.DWarmupKimg"/>, where G does not step.</summary>
    public bool WarmingUpD => ImagesSeen < Config.DWarmupKimg * 1000;

    /// <summary>G's learning rate for the next minibatch: 0 in D's warm-up, then rising linearly to lr over <see cref="GanConfig.GLrRampupKimg"/>.</summary>
    public double GeneratorLr
    {
        get
        {
            double after = ImagesSeen - Config.DWarmupKimg * 1000;
            if (after < 0) return 0;
            return Config.GLrRampupKimg > 0 ? Config.Lr * Math.Min(1, (after + Config.Batch) / (Config.GLrRampupKimg * 1000)) : Config.Lr;
        }
    }

    /// <summary>Minibatches done.</summary>
    public long Step { get; private set; }

    public long ImagesSeen => Step * Config.Batch;

    /// <summary>The augmentation probability the next minibatch uses.</summary>
    public double AugmentP => _pipe.P;

    /// <summary>c = interval / (interval + 1): D's Adam runs with lr·c and β^c (stylegan2-ada's mb_ratio).</summary>
    public double LazyRatio => Config.R1Interval / (Config.R1Interval + 1.0);

    /// <summary>The EMA's β for the next minibatch (<see cref="GeneratorAverages.EmaBeta"/> at the images seen before it).</summary>
    public double EmaBeta => GeneratorAverages.EmaBeta(Config.Batch, Config.EmaKimg, Config.EmaRampup, ImagesSeen);

    /// <summary>
    /// One minibatch: Gmain, Dmain, Dreg when step % r1_interval == 0, G_ema, then ADA's p from the
    /// reals' logits. <paramref name="reals"/> are [batch, C, R, R] in [-1, 1].
    /// </summary>
    public GanStepReport TrainStep(float[] reals)
    {
        CheckReals(reals);
        long step = Step;
        double gLoss = WarmingUpD ? GeneratorLoss(step) : GeneratorStep(step);
        var (dLoss, realLogits) = DiscriminatorStep(step, reals);
        double? r1 = step % Config.R1Interval == 0 ? RegularizationStep(step, reals) : null;
        UpdateEma();
        Step = step + 1;
        double? rt = null;
        if (_ada is not null)
        {
            _ada.Update(realLogits, Config.Batch);
            _pipe.P = _ada.P;
            rt = _ada.LastRt;
        }
        return new GanStepReport(step, gLoss, dLoss, r1, _pipe.P, rt);
    }

    /// <summary>Gmain: one Adam step of G on softplus(−D(aug(G(z)))); D is only read. Returns the loss before the step.</summary>
    internal double GeneratorStep(long step)
    {
        var (loss, gradients) = GeneratorGradients(step);
        _gParameters.Step(GeneratorLr, gradients);
        _g.SetParameters(_gParameters.ByName);
        return loss;
    }

    /// <summary>Gmain's loss without its step (D's warm-up): the same draws, forward only.</summary>
    internal double GeneratorLoss(long step)
    {
        var (ws, _, _, _) = MapMixed(step, DrawPurpose.GeneratorZ, DrawPurpose.GeneratorMixingZ, DrawPurpose.GeneratorMixing);
        var images = _g.Synthesize(ws, _n, NoiseMode.Random, Seed(step, DrawPurpose.GeneratorNoise));
        var augmented = _pipe.Apply(images, _n, _channels, _resolution, Seed(step, DrawPurpose.GeneratorAugment));
        return GanLoss.Generator(_d.Forward(augmented.Images, _n)).Loss;
    }

    /// <summary>
    /// G's loss for minibatch <paramref name="step"/> and its gradient with respect to every trainable
    /// parameter as stored: synthesis through the augmentation's and D's image gradients, mapping through
    /// each z's own layers when the ws were mixed (the two contributions summed where a parameter got both).
    /// </summary>
    internal (double Loss, Dictionary<string, float[]> Gradients) GeneratorGradients(long step)
    {
        var (ws, z, mixZ, cutoff) = MapMixed(step, DrawPurpose.GeneratorZ, DrawPurpose.GeneratorMixingZ, DrawPurpose.GeneratorMixing);
        using var pass = _g.Forward(ws, _n, NoiseMode.Random, Seed(step, DrawPurpose.GeneratorNoise));
        var augmented = _pipe.Apply(pass.Images, _n, _channels, _resolution, Seed(step, DrawPurpose.GeneratorAugment));
        LogitLoss loss;
        float[] dAugmented;
        using (var dPass = _d.Record(augmented.Images, _n))
        {
            loss = GanLoss.Generator(dPass.Logits);
            dAugmented = dPass.Backward(loss.Gradient, parameters: false, images: true).Images!;
        }
        var synthesis = pass.ParameterBackward(augmented.Backward(dAugmented));
        var (dWs, dMixWs) = StyleMixing.Split(synthesis.Ws, _n, _numWs, _wDim, cutoff);
        var gradients = synthesis.Parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        Accumulate(gradients, _g.MappingParameterGradient(z, _n, dWs));
        if (cutoff < _numWs) Accumulate(gradients, _g.MappingParameterGradient(mixZ, _n, dMixWs));
        return (loss.Loss, gradients);
    }

    private static void Accumulate(Dictionary<string, float[]> into, IReadOnlyDictionary<string, float[]> part)
    {
        foreach (var (name, g) in part)
        {
            if (!into.TryGetValue(name, out var sum))
            {
                into[name] = (float[])g.Clone();
                continue;
            }
            for (int i = 0; i < g.Length; i++) sum[i] += g[i];
        }
    }

    /// <summary>Dmain: one Adam step of D on softplus(D(aug(G(z)))) + softplus(−D(aug(x))). Returns the loss and the reals' logits.</summary>
    internal (double Loss, float[] RealLogits) DiscriminatorStep(long step, float[] reals)
    {
        var (ws, _, _, _) = MapMixed(step, DrawPurpose.DiscriminatorZ, DrawPurpose.DiscriminatorMixingZ, DrawPurpose.DiscriminatorMixing);
        var fakes = _g.Synthesize(ws, _n, NoiseMode.Random, Seed(step, DrawPurpose.DiscriminatorNoise));
        var (fakeLoss, fakeGradients, _) = DiscriminatorTerm(fakes, Seed(step, DrawPurpose.FakeAugment), GanLoss.DiscriminatorFake);
        var (realLoss, realGradients, realLogits) = DiscriminatorTerm(reals, Seed(step, DrawPurpose.RealAugment), GanLoss.DiscriminatorReal);
        _dParameters.Step(Config.Lr * LazyRatio, fakeGradients, realGradients);
        _d.SetParameters(_dParameters.ByName);
        return (fakeLoss + realLoss, realLogits);
    }

    private (double Loss, IReadOnlyDictionary<string, float[]> Gradients, float[] Logits) DiscriminatorTerm(float[] images, int augmentSeed, Func<float[], LogitLoss> term)
    {
        var augmented = _pipe.Apply(images, _n, _channels, _resolution, augmentSeed);
        using var pass = _d.Record(augmented.Images, _n);
        var loss = term(pass.Logits);
        return (loss.Loss, pass.Backward(loss.Gradient, parameters: true, images: false).Parameters!, pass.Logits);
    }

    /// <summary>
    /// Dreg: one Adam step of D on (γ/2)·mean‖∇D(aug(x))‖²·interval. ComputeExact's gradient is that of
    /// ½Σₙ‖gₙ‖², so the loss's is it times γ·interval/N. Returns the mean penalty ‖g‖².
    /// </summary>
    internal double RegularizationStep(long step, float[] reals)
    {
        var augmented = _pipe.Apply(reals, _n, _channels, _resolution, Seed(step, DrawPurpose.R1Augment));
        var r1 = R1Regularization.ComputeExact(_d, augmented.Images, _n);
        float scale = (float)(Config.Gamma * Config.R1Interval / _n);
        _dParameters.Step(Config.Lr * LazyRatio, ParameterSet.Scale(r1.Gradient, scale));
        _d.SetParameters(_dParameters.ByName);
        return r1.Penalty.Average(v => (double)v);
    }

    /// <summary>ws for a minibatch: z through the mapping (updating w_avg), mixed from the cutoff on with a second z's.</summary>
    private (float[] Ws, float[] Z, float[] MixZ, int Cutoff) MapMixed(long step, DrawPurpose zPurpose, DrawPurpose mixZPurpose, DrawPurpose mixingPurpose)
    {
        int zDim = Config.ZDim;
        var z = TrainingDraws.Gaussian(Config.Seed, step, zPurpose, _n * zDim);
        var mixZ = TrainingDraws.Gaussian(Config.Seed, step, mixZPurpose, _n * zDim);
        int cutoff = StyleMixing.Cutoff(TrainingDraws.Random(Config.Seed, step, mixingPurpose), _numWs, Config.StyleMixing);
        var ws = _g.Map(z, _n);
        GeneratorAverages.TrackWAvg(_wAvg, ws, _n, _numWs);
        if (cutoff < _numWs) ws = StyleMixing.Mix(ws, _g.Map(mixZ, _n), _n, _numWs, _wDim, cutoff);
        return (ws, z, mixZ, cutoff);
    }

    private void UpdateEma()
    {
        double beta = EmaBeta;
        for (int k = 0; k < _gParameters.Names.Count; k++) GeneratorAverages.Ema(_ema[_gParameters.Names[k]], _gParameters.Values[k], beta);
        _wAvg.CopyTo(_ema["mapping.w_avg"], 0);
    }

    /// <summary>Everything to continue from here (copies).</summary>
    public GanSnapshot Snapshot()
    {
        _g.SetParameters(new Dictionary<string, float[]> { ["mapping.w_avg"] = _wAvg });
        var gConfig = Config.Generator;
        var ema = GeneratorWeights.FromTensors(gConfig, gConfig.TensorShapes().ToDictionary(p => p.Name, p => new HostTensor(p.Shape, (float[])_ema[p.Name].Clone())));
        return new GanSnapshot(Config, Step, _g.ToWeights(), ema, _d.ToWeights(), _gParameters.Adam.State, _dParameters.Adam.State, _ada?.State);
    }

    /// <summary>G_ema as weights: what is sampled, measured and exported.</summary>
    public GeneratorWeights GeneratorEma()
    {
        var gConfig = Config.Generator;
        return GeneratorWeights.FromTensors(gConfig, gConfig.TensorShapes().ToDictionary(p => p.Name, p => new HostTensor(p.Shape, (float[])_ema[p.Name].Clone())));
    }

    private int Seed(long step, DrawPurpose purpose) => TrainingDraws.Seed(Config.Seed, step, purpose);

    private void CheckReals(float[] reals)
    {
        ArgumentNullException.ThrowIfNull(reals);
        int expected = _n * _channels * _resolution * _resolution;
        if (reals.Length != expected)
            throw new ArgumentException($"The reals hold {reals.Length} values; a minibatch is [{_n}, {_channels}, {_resolution}, {_resolution}] = {expected}.", nameof(reals));
    }

    public void Dispose()
    {
        _g.Dispose();
        _d.Dispose();
    }
}
