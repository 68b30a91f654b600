using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Training;
using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Classifier;

/// <summary>The outcome of a run: where it stands, the best network, and the exported folder (when asked for).</summary>
public sealed record ClassifierTrainingResult(ClassifierRunState State, ReferenceCnnWeights Best, string? ExportedFolder);

/// <summary>
/// Trains the reference CNN: minibatches from <see cref="MinibatchSampler"/> (a permutation per epoch from
/// (seed, epoch)), augmented (<see cref="ClassifierAugmenter"/>, draws from (seed, epoch)), softmax
/// cross-entropy, Adam (torch's, β 0.9/0.999) with a cosine learning rate over the epochs; after every
/// epoch the validation loss, accuracy and ROC AUC, and a checkpoint, so a killed run resumes at the next
/// epoch and continues as the uninterrupted run would have. The network with the best validation AUC
/// (then accuracy, then loss) is kept and, at the end, exported to a model repository.
/// </summary>
public static class ClassifierTrainer
{
    public const string LogFileName = "log.jsonl";
    public const string MetricsFileName = "metrics.json";

    public static ClassifierTrainingResult Run(ClassifierTrainingConfig config, ClassifierRunOptions options, Backend backend,
        IProgress<ClassifierTrainingEvent>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(backend);
        config.Validate();
        options.Validate();
        string run = options.RunDirectory;
        Directory.CreateDirectory(run);

        var checkpoint = ClassifierCheckpoint.Read(run);
        if (checkpoint is { } found && !found.Config.SameAs(config))
            throw new InvalidOperationException($"{run} holds a checkpoint of another training config; resume it with the same settings or use another run folder.\n" +
                $"checkpoint: {Compact(found.Config)}\nnow:        {Compact(config)}");
        var data = ClassifierData.Open(config, options.CacheDirectory ?? Path.Combine(run, "cache"),
            progress is null ? null : new Progress(p => progress.Report(new ClassifierDecoding(p))), cancellation);
        var network = new ReferenceCnnConfig(config.Resolution, config.Channels, config.NetworkChannels, data.ClassLabels);
        if (checkpoint is { } resumed && !resumed.Snapshot.Current.Config.Equals(network))
            throw new InvalidOperationException($"{run}: the checkpoint's network ({string.Join(", ", resumed.Snapshot.Current.Config.ClassLabels)}) does not fit the data's classes ({string.Join(", ", network.ClassLabels)}).");

        var snapshot = checkpoint?.Snapshot ?? Fresh(network, config.Seed);
        progress?.Report(new ClassifierStarting(snapshot.State.EpochsDone, data.Train.Count, data.Validation.Count, data.ClassLabels, backend.Device));
        using var net = new ReferenceCnn(backend, snapshot.Current);
        var names = network.ParameterShapes().Select(p => p.Name).ToList();
        var values = names.Select(n => (float[])snapshot.Current[n].Data.Clone()).ToList();
        var adam = new Adam(values);
        adam.Restore(snapshot.Adam);
        var sampler = new MinibatchSampler(data.Train.Count, config.Batch, config.Seed);
        var history = snapshot.State.History.ToList();
        var best = snapshot.Best;
        int bestEpoch = snapshot.State.BestEpoch;
        double wall = snapshot.State.WallSeconds;

        for (int epoch = snapshot.State.EpochsDone + 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            double lr = LearningRate(config.LearningRate, epoch, options.Epochs);
            var (trainLoss, trainAccuracy) = TrainEpoch(net, adam, names, values, data.Train, sampler, config, epoch, lr, progress, cancellation);
            double trainSeconds = clock.Elapsed.TotalSeconds;
            var (valLoss, valAccuracy, valAuc) = Evaluate(net, data.Validation, options.EvalBatch, cancellation);
            var metrics = new ClassifierEpoch(epoch, lr, trainLoss, trainAccuracy, valLoss, valAccuracy, valAuc,
                clock.Elapsed.TotalSeconds, sampler.BatchesPerEpoch * config.Batch / trainSeconds);
            history.Add(metrics);
            bool isBest = bestEpoch == 0 || Better(metrics, history[bestEpoch - 1]);
            var current = net.ToWeights();
            if (isBest) (best, bestEpoch) = (current, epoch);
            wall += clock.Elapsed.TotalSeconds;
            var state = new ClassifierRunState { EpochsDone = epoch, BestEpoch = bestEpoch, History = [.. history], WallSeconds = wall, WrittenUtc = DateTime.UtcNow };
            snapshot = new ClassifierSnapshot(current, best, adam.State, state);
            ClassifierCheckpoint.Write(run, config, snapshot);
            File.AppendAllText(Path.Combine(run, LogFileName), JsonSerializer.Serialize(metrics, ClassifierCheckpoint.Json).ReplaceLineEndings(" ") + "\n");
            progress?.Report(new ClassifierEpochDone(metrics, options.Epochs, isBest));
        }

        string? folder = null;
        if (options.Repository is not null && options.Name is not null)
        {
            folder = ReferenceCnnExport.Write(best, options.Repository, options.Name, config.Fit);
            WriteMetrics(Path.Combine(folder, MetricsFileName), config, snapshot.State, data, backend);
            progress?.Report(new ClassifierExported(folder));
        }
        return new ClassifierTrainingResult(snapshot.State, best, folder);
    }

    /// <summary>Cosine from lr at epoch 1 to 5% of lr at the last epoch.</summary>
    public static double LearningRate(double lr, int epoch, int epochs) =>
        epochs <= 1 ? lr : lr * (0.05 + 0.95 * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / (epochs - 1))));

    private static ClassifierSnapshot Fresh(ReferenceCnnConfig network, int seed)
    {
        var weights = ReferenceCnnWeights.Initialize(network, seed);
        var zeros = network.ParameterShapes().Select(p => new float[HostTensor.Count(p.Shape)]).ToList();
        return new ClassifierSnapshot(weights, weights, new AdamState(zeros, [.. zeros.Select(z => (float[])z.Clone())], 0),
            new ClassifierRunState { EpochsDone = 0, BestEpoch = 0, History = [], WallSeconds = 0, WrittenUtc = DateTime.UtcNow });
    }

    private static (double Loss, double Accuracy) TrainEpoch(ReferenceCnn net, Adam adam, List<string> names, List<float[]> values,
        PackedCache train, MinibatchSampler sampler, ClassifierTrainingConfig config, int epoch, double lr,
        IProgress<ClassifierTrainingEvent>? progress, CancellationToken cancellation)
    {
        int n = config.Batch, classes = net.Config.ClassCount, batches = sampler.BatchesPerEpoch;
        var images = new float[n * net.ImageLength];
        var labels = new int[n];
        var random = new Random(EpochSeed(config.Seed, epoch));
        double lossSum = 0;
        long correct = 0;
        int b = 0;
        foreach (var batch in sampler.Epoch(epoch - 1))
        {
            cancellation.ThrowIfCancellationRequested();
            train.FillBatch(batch, images, labels);
            ClassifierAugmenter.Apply(config.Augment, images, n, config.Channels, config.Resolution, random);
            using var pass = net.Record(images, n);
            var (loss, dLogits) = SoftmaxCrossEntropy.Compute(pass.Logits, labels, classes);
            if (!double.IsFinite(loss)) throw new InvalidOperationException($"epoch {epoch}, minibatch {b + 1}: the loss is {loss}; lower the learning rate ({config.LearningRate}).");
            var gradients = pass.Backward(dLogits, parameters: true, images: false).Parameters!;
            adam.Step(lr, [.. names.Select(name => gradients[name])]);
            net.SetParameters(names.Select((name, k) => (name, k)).ToDictionary(p => p.name, p => values[p.k]));
            lossSum += loss;
            correct += Correct(pass.Logits, labels, classes);
            progress?.Report(new ClassifierBatchDone(epoch, ++b, batches, loss));
        }
        return (lossSum / batches, (double)correct / (batches * n));
    }

    /// <summary>Loss, accuracy and ROC AUC of the current network on every image of <paramref name="set"/>, unaugmented.</summary>
    public static (double Loss, double Accuracy, double Auc) Evaluate(ReferenceCnn net, PackedCache set, int batch, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(set);
        int classes = net.Config.ClassCount;
        var probabilities = new float[set.Count * classes];
        var labels = new int[set.Count];
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < set.Count; start += batch)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = Math.Min(batch, set.Count - start);
            var images = new float[n * net.ImageLength];
            var indices = Enumerable.Range(start, n).ToArray();
            set.FillBatch(indices, images, labels.AsSpan(start, n));
            var logits = net.Logits(images, n);
            lossSum += SoftmaxCrossEntropy.Compute(logits, labels.AsSpan(start, n), classes).Loss * n;
            correct += Correct(logits, labels.AsSpan(start, n), classes);
            SoftmaxCrossEntropy.Probabilities(logits, classes).CopyTo(probabilities, start * classes);
        }
        return (lossSum / set.Count, (double)correct / set.Count, RocAuc.FromProbabilities(probabilities, labels, classes));
    }

    private static int Correct(float[] logits, ReadOnlySpan<int> labels, int classes)
    {
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = logits.AsSpan(i * classes, classes);
            int arg = 0;
            for (int k = 1; k < classes; k++) if (row[k] > row[arg]) arg = k;
            if (arg == labels[i]) correct++;
        }
        return correct;
    }

    /// <summary>Higher validation AUC (when both have one), then higher accuracy, then lower loss: ties on AUC are common on easy sets.</summary>
    private static bool Better(ClassifierEpoch a, ClassifierEpoch best)
    {
        if (!double.IsNaN(a.ValAuc) && !double.IsNaN(best.ValAuc) && a.ValAuc != best.ValAuc) return a.ValAuc > best.ValAuc;
        if (a.ValAccuracy != best.ValAccuracy) return a.ValAccuracy > best.ValAccuracy;
        return a.ValLoss < best.ValLoss;
    }

    /// <summary>The augmentation draws of an epoch: a stable function of (seed, epoch), unlike HashCode.</summary>
    private static int EpochSeed(int seed, int epoch) => unchecked((int)(((uint)seed * 0x9E3779B1u) ^ ((uint)epoch * 0x85EBCA77u) ^ 0xC2B2AE3Du) & 0x7FFFFFFF);

    private static string Compact(ClassifierTrainingConfig c) => c.ToJson().ReplaceLineEndings(" ").Replace("  ", "", StringComparison.Ordinal);

    private static void WriteMetrics(string path, ClassifierTrainingConfig config, ClassifierRunState state, ClassifierData data, Backend backend)
    {
        var best = state.Best!;
        var metrics = new
        {
            validation_accuracy = best.ValAccuracy,
            validation_auc = best.ValAuc,
            validation_loss = best.ValLoss,
            best_epoch = state.BestEpoch,
            epochs = state.EpochsDone,
            class_labels = data.ClassLabels,
            train_images = data.Train.Count,
            validation_images = data.Validation.Count,
            wall_seconds = Math.Round(state.WallSeconds, 1),
            device = backend.Device,
            training_config = JsonDocument.Parse(config.ToJson()).RootElement,
            history = state.History,
        };
        Classifiers.AtomicFiles.Write(path, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(metrics, ClassifierCheckpoint.Json) + "\n"));
    }

    private sealed class Progress(Action<PackedCacheProgress> report) : IProgress<PackedCacheProgress>
    {
        public void Report(PackedCacheProgress value) => report(value);
    }
}
