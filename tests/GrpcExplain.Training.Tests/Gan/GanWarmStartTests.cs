using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

/// <summary>A run warm-started from a trained generator: G and G_ema from the file, D fresh, and D alone during its warm-up.</summary>
public sealed class GanWarmStartTests : IDisposable
{
    private readonly Backend _backend = TinyGan.Backend();
    private readonly string _dir = Directory.CreateTempSubdirectory("gan-warm-start-").FullName;

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A generator trained a few minibatches from another seed, saved as a run exports it.</summary>
    private string TrainedGenerator(GanConfig config)
    {
        using var trainer = new GanTrainer(_backend, GanTrainer.Initial(config with { Seed = 11 }));
        for (long step = 0; step < 3; step++) trainer.TrainStep(TinyGan.Reals(config, step));
        string path = Path.Combine(_dir, $"generator-{Guid.NewGuid():N}.safetensors");
        trainer.GeneratorEma().Save(path);
        return path;
    }

    [Fact]
    public void GAndGEmaStartFromTheFileAndDFromTheSeed()
    {
        var config = TinyGan.Config();
        string path = TrainedGenerator(config);
        var saved = GeneratorWeights.Load(path);

        var start = GanTrainer.Initial(config with { WarmStart = path });
        var cold = GanTrainer.Initial(config);
        foreach (var (name, tensor) in saved.Tensors)
        {
            Assert.Equal(tensor.Data, start.Generator[name].Data);
            Assert.Equal(tensor.Data, start.GeneratorEma[name].Data);
            Assert.NotEqual(cold.Generator[name].Data, start.Generator[name].Data);
        }
        Assert.All(cold.Discriminator.Tensors, p => Assert.Equal(p.Value.Data, start.Discriminator[p.Key].Data));
        Assert.Equal(0, start.Step);
        Assert.Equal(0, start.GeneratorAdam.Step);
        Assert.Equal(0, start.DiscriminatorAdam.Step);
    }

    /// <summary>The warm-up covers the minibatches that start below d_warmup_kimg; G moves only after them, and the loss it reports is Gmain's.</summary>
    [Fact]
    public void DuringTheWarmUpOnlyDSteps()
    {
        var config = TinyGan.Config() with { Ada = false };
        config = config with { WarmStart = TrainedGenerator(config), DWarmupKimg = 2 * config.Batch / 1000.0 };
        var start = GanTrainer.Initial(config);
        using var trainer = new GanTrainer(_backend, start);
        using var reference = new GanTrainer(_backend, start);

        for (long step = 0; step < 2; step++)
        {
            Assert.True(trainer.WarmingUpD);
            var before = trainer.Snapshot();
            var report = trainer.TrainStep(TinyGan.Reals(config, step));
            var after = trainer.Snapshot();
            Assert.All(config.Generator.ParameterShapes(), p => Assert.Equal(before.Generator[p.Name].Data, after.Generator[p.Name].Data)); // w_avg, a buffer, still tracks w
            Assert.Contains(before.Discriminator.Tensors, p => !p.Value.Data.SequenceEqual(after.Discriminator[p.Key].Data));
            Assert.Equal(0, after.GeneratorAdam.Step);
            if (step == 0) Assert.Equal(reference.GeneratorGradients(0).Loss, report.GeneratorLoss, 1e-5);
        }
        Assert.False(trainer.WarmingUpD);
        var last = trainer.Snapshot();
        trainer.TrainStep(TinyGan.Reals(config, 2));
        Assert.Equal(1, trainer.Snapshot().GeneratorAdam.Step);
        Assert.NotEqual(last.Generator["mapping.fc0.weight"].Data, trainer.Snapshot().Generator["mapping.fc0.weight"].Data);
    }

    /// <summary>After a 2-minibatch warm-up G's lr rises over 4 minibatches (lr/4, 2/4, 3/4, 1) and stays; a step at lr/4 is exactly a step of a run whose lr is lr/4.</summary>
    [Fact]
    public void GsLearningRateRisesAfterTheWarmUp()
    {
        var config = TinyGan.Config() with { Ada = false, Lr = 0.008 };
        config = config with { DWarmupKimg = 2 * config.Batch / 1000.0, GLrRampupKimg = 4 * config.Batch / 1000.0 };
        var initial = GanTrainer.Initial(config);
        double[] lrs = [.. Enumerable.Range(0, 8).Select(step =>
        {
            using var trainer = new GanTrainer(_backend, initial with { Step = step });
            return trainer.GeneratorLr;
        })];
        Assert.Equal([0, 0, 0.002, 0.004, 0.006, 0.008, 0.008, 0.008], lrs.Select(v => Math.Round(v, 12)));

        using var ramped = new GanTrainer(_backend, initial with { Step = 2 });
        var plain = initial with { Config = TinyGan.Config() with { Ada = false, Lr = 0.002 }, Step = 2 };
        using var reference = new GanTrainer(_backend, plain);
        ramped.GeneratorStep(2);
        reference.GeneratorStep(2);
        Assert.All(config.Generator.ParameterShapes(), p => Assert.Equal(reference.Snapshot().Generator[p.Name].Data, ramped.Snapshot().Generator[p.Name].Data));
        Assert.Contains(config.Generator.ParameterShapes(), p => !initial.Generator[p.Name].Data.SequenceEqual(ramped.Snapshot().Generator[p.Name].Data));
    }

    [Fact]
    public void AGeneratorOfAnotherArchitectureIsRefused()
    {
        var config = TinyGan.Config();
        string other = TrainedGenerator(config with { ChannelMax = 8 });
        var e = Assert.Throws<InvalidDataException>(() => GanTrainer.Initial(config with { WarmStart = other }));
        Assert.Contains("another architecture", e.Message, StringComparison.Ordinal);
        Assert.Contains("channel_max 8", e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => GanTrainer.Initial(config with { WarmStart = Path.Combine(_dir, "missing.safetensors") }));
    }
}
