using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Training.Augmentation;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

/// <summary>Checkpoints: a resumed run is the uninterrupted run, bit for bit; a write killed half-way leaves the previous checkpoint.</summary>
public sealed class GanCheckpointTests : IDisposable
{
    private readonly Backend _backend = TinyGan.Backend();
    private readonly string _dir = Directory.CreateTempSubdirectory("gan-checkpoint-").FullName;

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>
    /// A start where everything is live: augmentation at p = 0.5 (ADA adjusts it every 4 steps, here at step 4,
    /// after the resume), R1 every 2 steps, style mixing, EMA, w_avg. Steps 0-2, checkpoint to disk, a new
    /// trainer from the file, steps 3-5; against steps 0-5 straight.
    /// </summary>
    [Fact]
    public void ResumingFromACheckpointContinuesExactlyAsTheUninterruptedRun()
    {
        var config = TinyGan.Config(channels: 3);
        var start = GanTrainer.Initial(config) with { Ada = new AdaptiveAugmentState(0.5, 0, 0, 0) };

        GanSnapshot straight;
        using (var trainer = new GanTrainer(_backend, start))
        {
            for (int s = 0; s < 6; s++) trainer.TrainStep(TinyGan.Reals(config, s));
            straight = trainer.Snapshot();
        }

        using (var first = new GanTrainer(_backend, start))
        {
            for (int s = 0; s < 3; s++) first.TrainStep(TinyGan.Reals(config, s));
            GanCheckpoint.Write(_dir, first.Snapshot(), wallSeconds: 12.5);
        }
        var (read, state) = GanCheckpoint.Read(_dir);
        Assert.Equal(3, state.Step);
        Assert.Equal(12.5, state.WallSeconds);
        Assert.Equal(3, read.Ada!.Steps);
        GanSnapshot resumed;
        using (var second = new GanTrainer(_backend, read))
        {
            for (int s = 3; s < 6; s++) second.TrainStep(TinyGan.Reals(config, s));
            resumed = second.Snapshot();
        }

        AssertSame(straight, resumed);
        Assert.NotEqual(0.5, straight.Ada!.P); // ADA moved p at step 4, after the resume
        Assert.Equal(6 + 3, straight.DiscriminatorAdam.Step); // Dmain every step, Dreg at 0, 2, 4
    }

    [Fact]
    public void AKillBeforeTheNewCheckpointIsCompleteLeavesThePreviousOneLoadable()
    {
        var config = TinyGan.Config();
        using var trainer = new GanTrainer(_backend, GanTrainer.Initial(config));
        trainer.TrainStep(TinyGan.Reals(config, 0));
        var saved = trainer.Snapshot();
        GanCheckpoint.Write(_dir, saved, 1);
        trainer.TrainStep(TinyGan.Reals(config, 1));

        // The process dies with the new file written under its temporary name, not yet renamed.
        Assert.Throws<IOException>(() => GanCheckpoint.Write(_dir, trainer.Snapshot(), 2, beforeCommit: () => throw new IOException("killed")));
        AssertSame(saved, GanCheckpoint.Read(_dir).Snapshot);

        // ... or half-way through writing it: a truncated temporary file lies beside the checkpoint.
        string partial = Directory.GetFiles(_dir, ".checkpoint*").Single();
        File.WriteAllBytes(partial, File.ReadAllBytes(partial)[..1000]);
        var (again, state) = GanCheckpoint.Read(_dir);
        AssertSame(saved, again);
        Assert.Equal(1, state.Step);

        // The next checkpoint replaces both.
        GanCheckpoint.Write(_dir, trainer.Snapshot(), 3);
        Assert.Equal(2, GanCheckpoint.Read(_dir).State.Step);
        Assert.Equal([GanCheckpoint.FileName, GanCheckpoint.StateFileName], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void ADamagedCheckpointIsNamedInTheError()
    {
        File.WriteAllText(GanCheckpoint.PathIn(_dir), "not a checkpoint");
        var e = Assert.Throws<InvalidDataException>(() => GanCheckpoint.Read(_dir));
        Assert.Contains(GanCheckpoint.FileName, e.Message);
    }

    [Fact]
    public void ConfigurationDifferencesAreNamed()
    {
        var config = TinyGan.Config();
        Assert.Empty(config.Differences(config with { }));
        var differences = config.Differences(config with { Batch = 8, Gamma = 2 });
        Assert.Equal(2, differences.Count);
        Assert.Contains(differences, d => d.StartsWith("batch: the checkpoint has 4, this run asks for 8", StringComparison.Ordinal));
        Assert.Contains(differences, d => d.StartsWith("gamma:", StringComparison.Ordinal));
        Assert.Equal(config, GanConfig.FromJson(config.ToJson()));
    }

    private static void AssertSame(GanSnapshot expected, GanSnapshot actual)
    {
        Assert.Equal(expected.Step, actual.Step);
        Assert.Equal(expected.Ada, actual.Ada);
        foreach (var (a, b) in new[] { (expected.Generator.Tensors, actual.Generator.Tensors), (expected.GeneratorEma.Tensors, actual.GeneratorEma.Tensors), (expected.Discriminator.Tensors, actual.Discriminator.Tensors) })
        {
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            foreach (var (name, t) in a) Assert.True(t.Data.AsSpan().SequenceEqual(b[name].Data), $"{name} differs");
        }
        foreach (var (a, b) in new[] { (expected.GeneratorAdam, actual.GeneratorAdam), (expected.DiscriminatorAdam, actual.DiscriminatorAdam) })
        {
            Assert.Equal(a.Step, b.Step);
            for (int k = 0; k < a.M.Count; k++)
            {
                Assert.True(a.M[k].AsSpan().SequenceEqual(b.M[k]), $"Adam m {k} differs");
                Assert.True(a.V[k].AsSpan().SequenceEqual(b.V[k]), $"Adam v {k} differs");
            }
        }
    }
}
