using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Training.Augmentation;
using GrpcExplain.StyleGan.Weights;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

/// <summary>The training phases on an 8x8 network: each lowers its loss, and the averages follow their formulas.</summary>
public sealed class GanTrainerTests : IDisposable
{
    private readonly Backend _backend = TinyGan.Backend();

    public void Dispose() => _backend.Dispose();

    /// <summary>Dmain again and again on the same minibatch (same fakes: G does not move, same draws for step 0).</summary>
    [Fact]
    public void DiscriminatorStepsLowerTheDiscriminatorLossOnFixedData()
    {
        var config = TinyGan.Config() with { Ada = false, Lr = 0.01 };
        using var trainer = new GanTrainer(_backend, GanTrainer.Initial(config));
        var reals = TinyGan.Reals(config, 0);
        var losses = Enumerable.Range(0, 10).Select(_ => trainer.DiscriminatorStep(0, reals).Loss).ToList();
        Assert.True(losses[^1] < 0.8 * losses[0], $"D loss {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
        Assert.Equal(10, trainer.Snapshot().DiscriminatorAdam.Step);
    }

    /// <summary>Gmain again and again against a frozen D (no D step runs), with augmentation on: the fakes move to where D calls them real.</summary>
    [Fact]
    public void GeneratorStepsAgainstAFrozenDiscriminatorLowerTheGeneratorLoss()
    {
        var config = TinyGan.Config() with { Lr = 0.01 };
        var start = GanTrainer.Initial(config) with { Ada = new AdaptiveAugmentState(0.5, 0, 0, 0) };
        using var trainer = new GanTrainer(_backend, start);
        var dBefore = trainer.Snapshot().Discriminator;
        var losses = Enumerable.Range(0, 10).Select(_ => trainer.GeneratorStep(0)).ToList();
        Assert.True(losses[^1] < 0.9 * losses[0], $"G loss {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
        var after = trainer.Snapshot();
        Assert.All(dBefore.Tensors, p => Assert.Equal(p.Value.Data, after.Discriminator[p.Key].Data));
        Assert.Equal(10, after.GeneratorAdam.Step);
    }

    /// <summary>
    /// After one minibatch: G_ema = G + β·(G_ema − G) for every trainable parameter (β = 0.5^(batch/(ema_kimg·1000)),
    /// ema_kimg = batch·10/32) and G_ema's w_avg = G's; w_avg moved towards the batch mean of w at both mappings
    /// (Gmain's z through the initial G, then Dmain's through G after its step), each time by lerp(mean, w_avg, 0.995).
    /// </summary>
    [Fact]
    public void EmaAndWAvgFollowTheirFormulas()
    {
        var config = TinyGan.Config() with { EmaRampup = null };
        using var trainer = new GanTrainer(_backend, GanTrainer.Initial(config));
        var before = trainer.Snapshot();
        trainer.TrainStep(TinyGan.Reals(config, 0));
        var after = trainer.Snapshot();

        double emaKimg = config.Batch * 10.0 / 32;
        Assert.Equal(Math.Pow(0.5, config.Batch / (emaKimg * 1000)), trainer.EmaBeta, 1e-15);
        float beta = (float)trainer.EmaBeta;
        foreach (var (name, _) in config.Generator.ParameterShapes())
        {
            float[] g = after.Generator[name].Data, ema0 = before.GeneratorEma[name].Data, ema1 = after.GeneratorEma[name].Data;
            Assert.NotEqual(before.Generator[name].Data, g);
            for (int i = 0; i < g.Length; i++) Assert.Equal(g[i] + beta * (ema0[i] - g[i]), ema1[i]);
        }

        int n = config.Batch, numWs = config.Generator.NumWs, wDim = config.WDim;
        double[] MeanW(GeneratorWeights weights, DrawPurpose purpose)
        {
            using var g = new Generator(_backend, weights);
            var ws = g.Map(TrainingDraws.Gaussian(config.Seed, 0, purpose, n * config.ZDim), n);
            return [.. Enumerable.Range(0, wDim).Select(j => Enumerable.Range(0, n).Average(s => (double)ws[s * numWs * wDim + j]))];
        }
        var expected = before.Generator["mapping.w_avg"].Data.Select(v => (double)v).ToArray();
        foreach (var mean in new[] { MeanW(before.Generator, DrawPurpose.GeneratorZ), MeanW(after.Generator, DrawPurpose.DiscriminatorZ) })
            for (int j = 0; j < wDim; j++) expected[j] = mean[j] + 0.995 * (expected[j] - mean[j]);
        var wAvg = after.Generator["mapping.w_avg"].Data;
        Assert.Contains(wAvg, v => v != 0);
        for (int j = 0; j < wDim; j++) Assert.Equal(expected[j], wAvg[j], 1e-5);
        Assert.Equal(wAvg, after.GeneratorEma["mapping.w_avg"].Data);
    }

    /// <summary>
    /// G's gradient is with respect to the parameters as stored (mapping weights stored ×100, gains at run time):
    /// central differences of the loss, each from a trainer built on perturbed weights, through augmentation
    /// (p = 0.5) and a style-mixed minibatch, so Adam on the stored values takes NVIDIA's steps.
    /// </summary>
    [Theory]
    [InlineData("mapping.fc0.weight", 0.5)]
    [InlineData("mapping.fc1.bias", 0.02)]
    [InlineData("synthesis.b4.const", 0.01)]
    [InlineData("synthesis.b8.conv0.weight", 0.01)]
    [InlineData("synthesis.b8.conv0.affine.weight", 0.01)]
    [InlineData("synthesis.b8.conv1.noise_strength", 0.01)]
    [InlineData("synthesis.b8.torgb.bias", 0.01)]
    public void GeneratorGradientMatchesFiniteDifferencesOfTheStoredParameters(string name, double h)
    {
        var config = TinyGan.Config();
        var start = GanTrainer.Initial(config) with { Ada = new AdaptiveAugmentState(0.5, 0, 0, 0) };
        start = start with { Generator = Perturbed(start.Generator, "synthesis.b8.conv1.noise_strength", 0, 0.3f) };
        long step = Enumerable.Range(0, 50).First(s =>
            StyleMixing.Cutoff(TrainingDraws.Random(config.Seed, s, DrawPurpose.GeneratorMixing), config.Generator.NumWs, config.StyleMixing) < config.Generator.NumWs);

        Dictionary<string, float[]> gradients;
        using (var trainer = new GanTrainer(_backend, start)) gradients = trainer.GeneratorGradients(step).Gradients;
        Assert.Equal(config.Generator.ParameterShapes().Select(p => p.Name).Order(), gradients.Keys.Order());
        var g = gradients[name];
        int i = Enumerable.Range(0, g.Length).MaxBy(k => Math.Abs(g[k]));
        double Loss(float delta)
        {
            using var t = new GanTrainer(_backend, start with { Generator = Perturbed(start.Generator, name, i, delta) });
            return t.GeneratorGradients(step).Loss;
        }
        double numeric = (Loss((float)h) - Loss((float)-h)) / (2 * h);
        Assert.True(Math.Abs(g[i]) > 1e-4, $"{name}[{i}]: gradient {g[i]} too small to check");
        Assert.Equal(numeric, g[i], 0.03 * Math.Abs(numeric) + 1e-5);
    }

    /// <summary>stylegan2-ada's ema_rampup: the half-life is at most rampup·(images seen before the minibatch), so G_ema starts as G.</summary>
    [Fact]
    public void EmaHalfLifeRampsUpWithTheImagesSeen()
    {
        Assert.Equal(0, GeneratorAverages.EmaBeta(16, 5, 0.05, 0));
        Assert.Equal(Math.Pow(0.5, 16 / 50.0), GeneratorAverages.EmaBeta(16, 5, 0.05, 1000), 1e-15);
        Assert.Equal(Math.Pow(0.5, 16 / 5000.0), GeneratorAverages.EmaBeta(16, 5, 0.05, 1_000_000), 1e-15);
        Assert.Equal(Math.Pow(0.5, 16 / 5000.0), GeneratorAverages.EmaBeta(16, 5, null, 0), 1e-15);

        var config = TinyGan.Config();
        using var trainer = new GanTrainer(_backend, GanTrainer.Initial(config));
        trainer.TrainStep(TinyGan.Reals(config, 0));
        var after = trainer.Snapshot();
        Assert.All(after.Generator.Tensors, p => Assert.Equal(p.Value.Data, after.GeneratorEma[p.Key].Data));
    }

    private static GeneratorWeights Perturbed(GeneratorWeights weights, string name, int index, float delta)
    {
        var tensors = weights.Tensors.ToDictionary(p => p.Key, p => p.Value);
        var data = (float[])weights[name].Data.Clone();
        data[index] += delta;
        tensors[name] = new HostTensor(weights[name].Shape, data);
        return GeneratorWeights.FromTensors(weights.Config, tensors);
    }
}
