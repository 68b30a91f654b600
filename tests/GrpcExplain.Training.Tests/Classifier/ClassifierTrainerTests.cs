using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Classifier;
using GrpcExplain.Training.Tests.Data;

namespace GrpcExplain.Training.Tests.Classifier;

/// <summary>Short runs of tiny networks on a learnable synthetic dataset (a few seconds each on 2 cores).</summary>
public sealed class ClassifierTrainerTests : IDisposable
{
    private readonly SyntheticImages _files = new();
    private readonly Backend _backend = Backends.Create("cpu");

    public void Dispose()
    {
        _backend.Dispose();
        _files.Dispose();
    }

    private ClassifierTrainingConfig Config(string data, ClassifierLabels labels = ClassifierLabels.Folders) => new()
    {
        Data = data, Resolution = 16, Channels = 1, Fit = ImageFit.Resize, Labels = labels,
        NetworkChannels = [6, 8], Augment = ClassifierAugmentation.FlipTranslate, Batch = 8, LearningRate = 1e-2, Seed = 7,
    };

    private ClassifierRunOptions Options(string run, int epochs) => new() { RunDirectory = Path.Combine(_files.Root, run), Epochs = epochs };

    [Fact]
    public void AFewEpochsLearnTheSquares()
    {
        string data = SquaresDataset.Write(_files, ["0", "1"], c => c == "1", trainPerClass: 48, valPerClass: 16);
        var events = new List<ClassifierTrainingEvent>();
        var result = ClassifierTrainer.Run(Config(data), Options("run", 6) with { Repository = Path.Combine(_files.Root, "repo"), Name = "squares" },
            _backend, new SyncProgress<ClassifierTrainingEvent>(events.Add), TestContext.Current.CancellationToken);

        var history = result.State.History;
        Assert.Equal(6, history.Count);
        Assert.True(history[^1].TrainLoss < 0.6 * history[0].TrainLoss, $"train loss {history[0].TrainLoss:F3} -> {history[^1].TrainLoss:F3}");
        Assert.True(result.State.Best!.ValAccuracy >= 0.9, $"best validation accuracy {result.State.Best.ValAccuracy:F3}: " + string.Join("\n", history));
        Assert.True(result.State.Best.ValAuc >= 0.95, $"best validation AUC {result.State.Best.ValAuc:F3}");
        Assert.Equal(result.State.Best.ValAuc, history.Max(h => h.ValAuc));
        Assert.Equal(history.Where(h => h.ValAuc == result.State.Best.ValAuc).Max(h => h.ValAccuracy), result.State.Best.ValAccuracy);

        // Events: the start, every minibatch (96 images / 8 = 12 per epoch), every epoch, the export.
        var start = Assert.IsType<ClassifierStarting>(events.First(e => e is not ClassifierDecoding));
        Assert.Equal((0, 96, 32), (start.EpochsDone, start.TrainImages, start.ValidationImages));
        Assert.Equal(6 * 12, events.OfType<ClassifierBatchDone>().Count());
        Assert.Equal(6, events.OfType<ClassifierEpochDone>().Count());
        Assert.All(events.OfType<ClassifierEpochDone>(), e => Assert.True(e.Metrics.ImagesPerSecond > 0));

        // The export is the best network, as ONNX and our format, with its metrics.
        string folder = Assert.IsType<ClassifierExported>(events[^1]).Folder;
        Assert.Equal(result.ExportedFolder, folder);
        using var reloaded = ReferenceCnn.Load(Path.Combine(folder, ReferenceCnnExport.WeightsFileName), _backend);
        Assert.Equal(result.Best["fc.weight"].Data, reloaded.ToWeights()["fc.weight"].Data);
        var config = ClassifierConfig.Load(Path.Combine(folder, ClassifierConfig.FileName));
        Assert.Equal(["0", "1"], config.ClassLabels);
        Assert.Equal((1, 16), (config.Input.Channels, config.Input.Height));
        Assert.True(File.Exists(Path.Combine(folder, "1", "model.onnx")));
        string metrics = File.ReadAllText(Path.Combine(folder, ClassifierTrainer.MetricsFileName));
        Assert.Contains("\"validation_auc\"", metrics);
        Assert.Contains($"\"best_epoch\": {result.State.BestEpoch}", metrics);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(_files.Root, "run", ClassifierTrainer.LogFileName)).Length);
    }

    [Fact]
    public void AResumedRunContinuesAsTheUninterruptedOne()
    {
        string data = SquaresDataset.Write(_files, ["0", "1"], c => c == "1", trainPerClass: 16, valPerClass: 4);
        var config = Config(data);
        var straight = ClassifierTrainer.Run(config, Options("straight", 3), _backend, cancellation: TestContext.Current.CancellationToken);

        // The second run is stopped after its first epoch (as a kill after the checkpoint would), then resumed.
        using var stop = new CancellationTokenSource();
        var progress = new SyncProgress<ClassifierTrainingEvent>(e => { if (e is ClassifierEpochDone { Metrics.Epoch: 1 }) stop.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => ClassifierTrainer.Run(config, Options("resumed", 3), _backend, progress, stop.Token));
        Assert.Equal(1, ClassifierCheckpoint.Read(Path.Combine(_files.Root, "resumed"))!.Value.Snapshot.State.EpochsDone);
        var events = new List<ClassifierTrainingEvent>();
        var resumed = ClassifierTrainer.Run(config, Options("resumed", 3), _backend, new SyncProgress<ClassifierTrainingEvent>(events.Add), TestContext.Current.CancellationToken);

        Assert.Equal(1, events.OfType<ClassifierStarting>().Single().EpochsDone);
        Assert.Equal([2, 3], events.OfType<ClassifierEpochDone>().Select(e => e.Metrics.Epoch));
        var (a, b) = (ClassifierCheckpoint.Read(Path.Combine(_files.Root, "straight"))!.Value.Snapshot, ClassifierCheckpoint.Read(Path.Combine(_files.Root, "resumed"))!.Value.Snapshot);
        foreach (var (name, _) in a.Current.Config.ParameterShapes())
        {
            Assert.Equal(a.Current[name].Data, b.Current[name].Data);
            Assert.Equal(a.Best[name].Data, b.Best[name].Data);
        }
        Assert.Equal(a.Adam.Step, b.Adam.Step);
        Assert.Equal(a.Adam.V[0], b.Adam.V[0]);
        Assert.Equal(straight.State.History.Select(h => h.TrainLoss), resumed.State.History.Select(h => h.TrainLoss));
        Assert.Equal(straight.State.History.Select(h => h.ValAuc), resumed.State.History.Select(h => h.ValAuc));

        // Asking for no more epochs than are done trains nothing and changes nothing.
        var again = ClassifierTrainer.Run(config, Options("resumed", 2), _backend, cancellation: TestContext.Current.CancellationToken);
        Assert.Equal(3, again.State.EpochsDone);
    }

    [Fact]
    public void ACheckpointOfAnotherConfigIsNotResumed()
    {
        string data = SquaresDataset.Write(_files, ["0", "1"], c => c == "1", trainPerClass: 8, valPerClass: 2);
        ClassifierTrainer.Run(Config(data), Options("run", 1), _backend, cancellation: TestContext.Current.CancellationToken);
        var e = Assert.Throws<InvalidOperationException>(() =>
            ClassifierTrainer.Run(Config(data) with { LearningRate = 2e-2 }, Options("run", 2), _backend, cancellation: TestContext.Current.CancellationToken));
        Assert.Contains("holds a checkpoint of another training config", e.Message);
        Assert.Contains("\"learning_rate\": 0.01", e.Message);
    }

    [Fact]
    public void KneeGradesBecomeKl2OrMore()
    {
        // Folders 0..4 as KL grades: the square marks grades 2, 3 and 4, so the binary task is learnable only under the mapping.
        string data = SquaresDataset.Write(_files, ["0", "1", "2", "3", "4"], c => int.Parse(c) >= 2, trainPerClass: 4, valPerClass: 2);
        var events = new List<ClassifierTrainingEvent>();
        var result = ClassifierTrainer.Run(Config(data, ClassifierLabels.BinaryKl2), Options("knee", 1), _backend,
            new SyncProgress<ClassifierTrainingEvent>(events.Add), TestContext.Current.CancellationToken);
        Assert.Equal(["KL0-1", "KL2-4"], events.OfType<ClassifierStarting>().Single().ClassLabels);
        Assert.Equal(["KL0-1", "KL2-4"], result.Best.Config.ClassLabels);

        var folders = ClassifierTrainer.Run(Config(data), Options("grades", 1), _backend, cancellation: TestContext.Current.CancellationToken);
        Assert.Equal(["0", "1", "2", "3", "4"], folders.Best.Config.ClassLabels);
        var named = ClassifierTrainer.Run(Config(data, ClassifierLabels.BinaryKl2) with { ClassNames = ["healthy", "osteoarthritis"] }, Options("named", 1), _backend,
            cancellation: TestContext.Current.CancellationToken);
        Assert.Equal(["healthy", "osteoarthritis"], named.Best.Config.ClassLabels);
        Assert.Contains("3 class names", Assert.Throws<ArgumentException>(() => ClassifierTrainer.Run(
            Config(data, ClassifierLabels.BinaryKl2) with { ClassNames = ["a", "b", "c"] }, Options("bad", 1), _backend, cancellation: TestContext.Current.CancellationToken)).Message);
    }

    [Fact]
    public void MissingDataAndBadSettingsAreNamed()
    {
        string data = SquaresDataset.Write(_files, ["0", "1"], c => c == "1", trainPerClass: 2, valPerClass: 1);
        Assert.Contains("no such folder", Assert.Throws<DirectoryNotFoundException>(() =>
            ClassifierTrainer.Run(Config(Path.Combine(_files.Root, "absent")), Options("a", 1), _backend, cancellation: TestContext.Current.CancellationToken)).Message);
        Assert.Contains("fewer than one minibatch of 8", Assert.Throws<InvalidDataException>(() =>
            ClassifierTrainer.Run(Config(data), Options("b", 1), _backend, cancellation: TestContext.Current.CancellationToken)).Message);
        Assert.Contains("divisible", Assert.Throws<ArgumentException>(() =>
            ClassifierTrainer.Run(Config(data) with { Resolution = 12, NetworkChannels = [4, 4, 4, 4] }, Options("c", 1), _backend, cancellation: TestContext.Current.CancellationToken)).Message);
        Directory.Delete(Path.Combine(data, "val"), recursive: true);
        Assert.Contains("no validation split", Assert.Throws<DirectoryNotFoundException>(() =>
            ClassifierTrainer.Run(Config(data) with { Batch = 2 }, Options("d", 1), _backend, cancellation: TestContext.Current.CancellationToken)).Message);
    }

    [Fact]
    public void TheLearningRateFollowsACosineToFivePercent()
    {
        Assert.Equal(1e-3, ClassifierTrainer.LearningRate(1e-3, 1, 10), 12);
        Assert.Equal(5e-5, ClassifierTrainer.LearningRate(1e-3, 10, 10), 12);
        Assert.Equal(1e-3 * (0.05 + 0.95 * 0.5), ClassifierTrainer.LearningRate(1e-3, 3, 5), 12);
        Assert.Equal(1e-3, ClassifierTrainer.LearningRate(1e-3, 1, 1), 12);
    }
}

/// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
