using System.Globalization;
using System.Text.Json;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Classifier;

namespace GrpcExplain.Cli.Train;

/// <summary>
/// Runs <c>grpcexplain train classifier</c>: a new run, or the one RUN/ holds (said so, and refused when the
/// command line asks for another config); a line per epoch on stdout (images/s, losses, validation
/// accuracy and AUC), minibatches on the progress line, the export at the end. Ctrl-C keeps the last
/// epoch's checkpoint, and the same command continues from it.
/// </summary>
internal static class TrainClassifierRun
{
    public static int Execute(ClassifierTrainingConfig config, ClassifierRunOptions run, BackendKind backendKind,
        TextWriter stdout, TextWriter stderr, ConsoleProgress progress, CancellationToken cancellation)
    {
        if (ClassifierCheckpoint.Read(run.RunDirectory) is { } found && !found.Config.SameAs(config))
            throw new UsageException($"{ClassifierCheckpoint.PathIn(run.RunDirectory)} was trained with another configuration; give the same options to resume it, or another --run.\n" +
                $"  checkpoint: {OneLine(found.Config)}\n  now:        {OneLine(config)}");
        using var backend = Backends.Create(backendKind);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training the reference CNN ({string.Join("/", config.NetworkChannels)} channels, {config.Resolution}x{config.Resolution} {(config.Channels == 1 ? "grey" : "RGB")}, " +
            $"{Name(config.Fit)}, {Name(config.Augment)} augmentation, batch {config.Batch}, lr {config.LearningRate:G3}) on {config.Data} ({backend.Name} on {backend.Device}), until epoch {run.Epochs}; run folder {run.RunDirectory}."));
        ClassifierTrainingResult result;
        try
        {
            result = ClassifierTrainer.Run(config, run, backend, new Reporter(e => Show(e, stdout, progress)), cancellation);
        }
        catch (OperationCanceledException)
        {
            progress.Dispose();
            int done = ClassifierCheckpoint.Read(run.RunDirectory)?.Snapshot.State.EpochsDone ?? 0;
            stderr.WriteLine($"grpcexplain: stopped; {(done > 0 ? $"the checkpoint after epoch {done} is in {run.RunDirectory}" : "no epoch was finished")}; the same command resumes the run.");
            throw;
        }
        catch (Exception e) when (e is ArgumentException)
        {
            throw new UsageException(e.Message);
        }
        progress.Dispose();
        var best = result.State.Best!;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Best: epoch {best.Epoch} of {result.State.EpochsDone}, validation accuracy {best.ValAccuracy:F4}, ROC AUC {best.ValAuc:F4} ({Duration(result.State.WallSeconds)} of training)."));
        stdout.WriteLine($"Exported: {result.ExportedFolder}");
        return ExitCodes.Success;
    }

    private static void Show(ClassifierTrainingEvent e, TextWriter stdout, ConsoleProgress progress)
    {
        switch (e)
        {
            case ClassifierDecoding d:
                progress.Report("decoding the images once", d.Progress.Done, d.Progress.Total);
                break;
            case ClassifierStarting s:
                progress.Dispose();
                stdout.WriteLine(s.EpochsDone == 0
                    ? $"{s.TrainImages} train and {s.ValidationImages} validation images, classes {string.Join(", ", s.ClassLabels)}."
                    : $"Resuming after epoch {s.EpochsDone}: {s.TrainImages} train and {s.ValidationImages} validation images, classes {string.Join(", ", s.ClassLabels)}.");
                break;
            case ClassifierBatchDone b:
                progress.Report(string.Create(CultureInfo.InvariantCulture, $"epoch {b.Epoch} | loss {b.Loss:F4} | minibatches"), b.Batch, b.Batches);
                break;
            case ClassifierEpochDone done:
                progress.Dispose();
                var m = done.Metrics;
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {m.Epoch}/{done.Epochs}: {m.ImagesPerSecond:F0} img/s, lr {m.LearningRate:G3}, train loss {m.TrainLoss:F4} acc {m.TrainAccuracy:F4} | " +
                    $"val loss {m.ValLoss:F4} acc {m.ValAccuracy:F4} AUC {m.ValAuc:F4}{(done.IsBest ? " (best)" : "")} | {Duration(m.Seconds)}"));
                stdout.Flush();
                break;
        }
    }

    /// <summary>An option's value as the command line and the config file spell it (center_crop, flip-translate).</summary>
    private static string Name<T>(T value) where T : struct, Enum => JsonSerializer.Serialize(value, ClassifierTrainingConfig.Json).Trim('"');

    private static string OneLine(ClassifierTrainingConfig c) => string.Join(" ", c.ToJson().Split('\n', StringSplitOptions.TrimEntries));

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
    }

    private sealed class Reporter(Action<ClassifierTrainingEvent> show) : IProgress<ClassifierTrainingEvent>
    {
        public void Report(ClassifierTrainingEvent value) => show(value);
    }
}
