using System.Globalization;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Cli.Train;

/// <summary>
/// Runs a <see cref="TrainGanRequest"/>: a new run, or the one RUN/ holds (said so, and refused when the
/// command line asks for a different configuration); progress on stderr (with the last FID-ResNet18),
/// RUN/training.png redrawn at every snapshot and measurement, a summary on stdout. Ctrl-C writes a
/// checkpoint first, so the same command continues the run.
/// </summary>
internal static class TrainGanRun
{
    public static int Execute(TrainGanRequest request, TextWriter stdout, TextWriter stderr, ConsoleProgress progress, CancellationToken cancellation)
    {
        var (start, wallSeconds) = Start(request, stdout);
        var options = request.RunOptions();
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        using var backend = Backends.Create(request.Backend);
        var config = start.Config;
        var g = config.Generator;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training a {config.Resolution}x{config.Resolution} {(config.Channels == 1 ? "grey" : "RGB")} StyleGAN2 on {config.Data} ({backend.Name} on {backend.Device}): " +
            $"channels {string.Join("/", g.BlockResolutions.Select(g.Channels))} (4..{config.Resolution}), z/w {config.ZDim}/{config.WDim}, {config.MappingLayers} mapping layers, " +
            $"batch {config.Batch}, gamma {config.Gamma:G4}, ADA {(config.Ada ? $"on (target {config.AdaTarget}, {config.AdaKimg} kimg)" : "off")}, until {options.Kimg} kimg."));

        GanRunResult result;
        try
        {
            GanFidEntry? lastFid = null;
            result = GanTraining.Run(start, wallSeconds, options, backend, e =>
            {
                if (e is GanFidEntry fid) lastFid = fid;
                if (e is GanSnapshotWritten or GanFidEntry) DrawCurves(options.RunDirectory, stderr);
                Show(e, lastFid, progress);
            }, cancellation);
        }
        catch (OperationCanceledException)
        {
            progress.Dispose();
            if (GanCheckpoint.Exists(request.RunDirectory))
            {
                var state = GanCheckpoint.Read(request.RunDirectory).State;
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"grpcexplain: stopped at {state.Kimg:F3} kimg; checkpoint and generator.safetensors written in {request.RunDirectory}; the same command resumes the run."));
            }
            throw;
        }
        progress.Dispose();
        Report(result, stdout);
        return ExitCodes.Success;
    }

    /// <summary>
    /// RUN/training.png is a view of log.jsonl and fid.jsonl, both written before it: a figure that cannot be
    /// drawn or saved is a warning, and training goes on.
    /// </summary>
    private static void DrawCurves(string run, TextWriter stderr)
    {
        try
        {
            TrainingCurves.Write(run);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            stderr.WriteLine($"grpcexplain: warning: {TrainingCurves.FileName} not redrawn ({e.GetType().Name}: {e.Message}); training goes on, and log.jsonl and fid.jsonl hold its numbers.");
        }
    }

    /// <summary>The checkpoint in RUN/ when there is one (its configuration checked against the command line), else a new run.</summary>
    private static (GanSnapshot Start, double WallSeconds) Start(TrainGanRequest request, TextWriter stdout)
    {
        string run = request.RunDirectory;
        if (!GanCheckpoint.Exists(run))
        {
            if (request.Resume) throw new UsageException($"--resume: {run} holds no {GanCheckpoint.FileName} to resume; leave --resume out to start a new run there.");
            GanConfig config;
            try
            {
                config = request.NewConfig();
                config.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            try
            {
                var initial = GanTrainer.Initial(config);
                if (config.WarmStart is { } warm)
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"Warm start: G and G_ema from {warm} (content {initial.GeneratorEma.ContentHash[..16]}…); D, the optimisers and ADA fresh; D alone for the first {config.DWarmupKimg:G4} kimg, then G's lr rising over {config.GLrRampupKimg:G4} kimg."));
                return (initial, 0);
            }
            catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
            {
                throw new UsageException($"--warm-start: {e.Message}");
            }
        }
        var (snapshot, state) = GanCheckpoint.Read(run);
        var requested = request.Over(snapshot.Config);
        var differences = snapshot.Config.Differences(requested);
        if (differences.Count > 0)
            throw new UsageException($"{GanCheckpoint.PathIn(run)} was trained with another configuration: {string.Join("; ", differences)}. " +
                "Leave those options out (or give the checkpoint's values) to resume it, or train into another --out.");
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Resuming {GanCheckpoint.PathIn(run)}: {state.Kimg:F3} kimg (minibatch {state.Step}), {Duration(state.WallSeconds)} of training so far, ADA p {state.Ada?.P ?? 0:F4}."));
        return (snapshot, state.WallSeconds);
    }

    private static void Show(GanEvent e, GanFidEntry? lastFid, ConsoleProgress progress)
    {
        switch (e)
        {
            case GanDataProgress d:
                progress.Report("decoding the training images once", d.Done, d.Total);
                break;
            case GanProgress p:
                string r1 = p.R1Penalty is { } v ? v.ToString("G3", CultureInfo.InvariantCulture) : "-";
                string rt = p.AdaRt is { } t ? t.ToString("F2", CultureInfo.InvariantCulture) : "-";
                string eta = p.EtaSeconds is { } s ? Duration(s) : "-";
                string losses = p.SessionSteps == 0 ? "G - D -" : string.Create(CultureInfo.InvariantCulture, $"G {p.GeneratorLoss:F3} D {p.DiscriminatorLoss:F3}");
                string fid = lastFid is { } m ? string.Create(CultureInfo.InvariantCulture, $" | FID {m.Fid:F1} at {m.Kimg:F1} kimg") : "";
                progress.Report(string.Create(CultureInfo.InvariantCulture,
                    $"kimg {p.Kimg:F3}/{p.TargetKimg:G4} | {p.ImagesPerSecond:F1} img/s | {losses} R1 {r1} | p {p.AugmentP:F3} r_t {rt}{fid} | ETA {eta} | minibatches"),
                    (int)p.SessionSteps, (int)p.SessionTargetSteps);
                break;
            case GanFidProgress f:
                progress.Report(f.What, f.Done, f.Total);
                break;
        }
    }

    private static void Report(GanRunResult r, TextWriter stdout)
    {
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Trained to {r.Kimg:F3} kimg ({r.Step} minibatches, {Duration(r.WallSeconds)} of training)."));
        stdout.WriteLine($"Generator (G_ema): {r.GeneratorPath}");
        stdout.WriteLine($"Samples: {Path.Combine(r.RunDirectory, GanTraining.SamplesFolder)}; log: {Path.Combine(r.RunDirectory, GanTraining.LogFile)}; curves: {Path.Combine(r.RunDirectory, TrainingCurves.FileName)}");
        if (r.Fid is { } fid)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"FID-ResNet18 {fid.Fid:F2} ({fid.GeneratedCount} generated vs {fid.TrainCount} train); floor {(fid.Floor is { } f ? f.ToString("F2", CultureInfo.InvariantCulture) : "n/a (no validation split)")}" +
                $"{(fid.ValidationCount is { } v ? $" ({v} validation vs train)" : "")}; {r.MetricsPath}"));
        else stdout.WriteLine("FID skipped (--fid-images 0).");
    }

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
    }
}
