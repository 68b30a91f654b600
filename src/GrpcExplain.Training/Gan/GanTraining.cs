using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Gan;

/// <summary>
/// A whole training run in RUN/: from a snapshot (new or read from RUN/checkpoint.safetensors) until
/// <see cref="GanRunOptions.Kimg"/> thousand reals, with a checkpoint, generator.safetensors (G_ema with
/// its metadata, loadable by GeneratorWeights.Load) and samples/kimgNNNNNN.png every snapshot interval,
/// a line of log.jsonl every log interval, FID-ResNet18 in fid.jsonl every FID interval (when asked; from the
/// end of D's warm-up on) and at the end, where it also goes to metrics.json. Cancellation
/// stops between minibatches, writes a checkpoint and the generator, then throws
/// OperationCanceledException: a stopped run resumes where it stopped.
/// </summary>
public static class GanTraining
{
    public const string GeneratorFile = "generator.safetensors";
    public const string LogFile = "log.jsonl";
    public const string FidLogFile = "fid.jsonl";
    public const string MetricsFile = "metrics.json";
    public const string SamplesFolder = "samples";

    private static readonly JsonSerializerOptions LineJson = new(GanConfig.Json) { WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static GanRunResult Run(GanSnapshot start, double wallSecondsBefore, GanRunOptions options, Backend backend,
        Action<GanEvent>? observe = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(backend);
        options.Validate();
        var config = start.Config;
        string run = Path.GetFullPath(options.RunDirectory);
        Directory.CreateDirectory(Path.Combine(run, SamplesFolder));
        var data = GanData.Open(config, options.CacheDirectory ?? Path.Combine(run, "cache"),
            new SyncProgress<PackedCacheProgress>(p => observe?.Invoke(new GanDataProgress(p.Done, p.Total))), cancellation);

        long targetStep = (long)Math.Ceiling(options.Kimg * 1000 / config.Batch - 1e-9);
        string generatorPath = Path.Combine(run, GeneratorFile);

        using var trainer = new GanTrainer(backend, start);
        long firstStep = trainer.Step;
        var session = Stopwatch.StartNew();
        var tick = new TickAverages();
        double? lastR1 = null, lastRt = null;
        if (firstStep == 0) WriteGrid(run, trainer, backend, options);

        void Snapshot(bool grid)
        {
            double wall = wallSecondsBefore + session.Elapsed.TotalSeconds;
            GanCheckpoint.Write(run, trainer.Snapshot(), wall);
            var ema = trainer.GeneratorEma();
            ema.Save(generatorPath);
            string? gridPath = grid ? WriteGrid(run, trainer, backend, options) : null;
            observe?.Invoke(new GanSnapshotWritten(trainer.ImagesSeen / 1000.0, GanCheckpoint.PathIn(run), generatorPath, gridPath));
        }

        GanFidResult MeasureFid()
        {
            var fid = GanFid.Compute(data, trainer.GeneratorEma(), backend, options.FidImages, options.FidModelDirectory,
                (what, n, total) => observe?.Invoke(new GanFidProgress(what, n, total)), cancellation);
            var entry = new GanFidEntry(trainer.Step, trainer.ImagesSeen / 1000.0, fid.Fid, fid.Floor, fid.GeneratedCount,
                wallSecondsBefore + session.Elapsed.TotalSeconds, DateTime.UtcNow);
            File.AppendAllText(Path.Combine(run, FidLogFile), JsonSerializer.Serialize(entry, LineJson) + "\n");
            observe?.Invoke(entry);
            return fid;
        }

        void Log()
        {
            var entry = tick.Entry(trainer, lastR1, lastRt, wallSecondsBefore + session.Elapsed.TotalSeconds);
            File.AppendAllText(Path.Combine(run, LogFile), JsonSerializer.Serialize(entry, LineJson) + "\n");
            observe?.Invoke(entry);
            tick = new TickAverages();
        }

        // The first report, before any minibatch, starts the caller's clock (ConsoleProgress times from done = 0).
        if (firstStep < targetStep)
            observe?.Invoke(new GanProgress(firstStep, targetStep, trainer.ImagesSeen / 1000.0, options.Kimg, 0, double.NaN, double.NaN, null,
                trainer.AugmentP, null, null, 0, targetStep - firstStep));
        while (trainer.Step < targetStep)
        {
            if (cancellation.IsCancellationRequested)
            {
                if (tick.Steps > 0) Log();
                Snapshot(grid: false);
                cancellation.ThrowIfCancellationRequested();
            }
            var report = trainer.TrainStep(data.Batch(trainer.Step));
            lastR1 = report.R1Penalty ?? lastR1;
            lastRt = report.AdaRt ?? lastRt;
            tick.Add(report, config.Batch);
            long done = trainer.Step - firstStep;
            double perStep = session.Elapsed.TotalSeconds / done;
            observe?.Invoke(new GanProgress(trainer.Step, targetStep, trainer.ImagesSeen / 1000.0, options.Kimg, done * config.Batch / session.Elapsed.TotalSeconds,
                tick.GeneratorLoss, tick.DiscriminatorLoss, lastR1, report.AugmentP, lastRt, perStep * (targetStep - trainer.Step),
                done, targetStep - firstStep));
            bool snapshot = Crossed(trainer.ImagesSeen, config.Batch, options.SnapshotKimg);
            // While only D trains, G_ema is the warm start's: its FID is the one measured at the warm-up's end.
            bool fidDue = options.FidKimg > 0 && options.FidImages > 0 && trainer.Step < targetStep && !trainer.WarmingUpD
                && Crossed(trainer.ImagesSeen, config.Batch, options.FidKimg);
            if (Crossed(trainer.ImagesSeen, config.Batch, options.LogKimg) || snapshot || fidDue || trainer.Step == targetStep) Log();
            if (snapshot && trainer.Step < targetStep) Snapshot(grid: true);
            if (fidDue)
            {
                try
                {
                    MeasureFid();
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                    // Stopped while measuring: the top of the loop checkpoints and stops.
                }
                tick = new TickAverages(); // the next log line's speed leaves the measurement out
            }
        }
        Snapshot(grid: true);
        double wallSeconds = wallSecondsBefore + session.Elapsed.TotalSeconds;

        if (options.FidImages == 0) return new GanRunResult(run, generatorPath, trainer.Step, trainer.ImagesSeen / 1000.0, wallSeconds, null, null);
        var fid = MeasureFid();
        string metricsPath = Path.Combine(run, MetricsFile);
        AtomicText.Write(metricsPath, JsonSerializer.Serialize(new
        {
            fid_resnet18 = fid.Fid,
            floor = fid.Floor,
            generated_images = fid.GeneratedCount,
            train_images = fid.TrainCount,
            validation_images = fid.ValidationCount,
            kimg = trainer.ImagesSeen / 1000.0,
            step = trainer.Step,
            generator = GeneratorFile,
            note = "FID-ResNet18: FID on the 512 pooled features of ML.NET's ImageNet ResNet18, not Inception FID; floor = validation reals against the same train reals.",
        }, GanConfig.Json) + "\n");
        return new GanRunResult(run, generatorPath, trainer.Step, trainer.ImagesSeen / 1000.0, wallSeconds, fid, metricsPath);
    }

    /// <summary>Whether the minibatch that brought the images seen to <paramref name="imagesSeen"/> passed a multiple of the interval (as NVIDIA's ticks: the first minibatch at or past it).</summary>
    internal static bool Crossed(long imagesSeen, int batch, double intervalKimg)
    {
        long interval = Math.Max(1, (long)Math.Round(intervalKimg * 1000));
        return imagesSeen / interval > (imagesSeen - batch) / interval;
    }

    /// <summary>samples/kimgNNNNNN.png (thousands of images seen, rounded down, six digits as NVIDIA's fakesNNNNNN.png).</summary>
    public static string GridPath(string run, long imagesSeen) =>
        Path.Combine(run, SamplesFolder, string.Create(CultureInfo.InvariantCulture, $"kimg{imagesSeen / 1000:D6}.png"));

    private static string WriteGrid(string run, GanTrainer trainer, Backend backend, GanRunOptions options)
    {
        string path = GridPath(run, trainer.ImagesSeen);
        SampleGrid.Write(path, backend, trainer.GeneratorEma(), trainer.Config, options.GridImages);
        return path;
    }

    /// <summary>Losses averaged over the minibatches of one log line, and the speed over them.</summary>
    private sealed class TickAverages
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private double _g, _d;
        private long _images;

        public int Steps { get; private set; }
        public double GeneratorLoss => _g / Math.Max(Steps, 1);
        public double DiscriminatorLoss => _d / Math.Max(Steps, 1);

        public void Add(GanStepReport report, int batch)
        {
            _g += report.GeneratorLoss;
            _d += report.DiscriminatorLoss;
            _images += batch;
            Steps++;
        }

        public GanLogEntry Entry(GanTrainer trainer, double? r1, double? rt, double wallSeconds) =>
            new(trainer.Step, trainer.ImagesSeen / 1000.0, _images / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9), GeneratorLoss, DiscriminatorLoss, r1,
                trainer.AugmentP, rt, wallSeconds, DateTime.UtcNow);
    }
}
