using System.Globalization;
using GrpcExplain.Explain;
using GrpcExplain.Explain.HeatMaps;

namespace GrpcExplain.Cli.Explain;

/// <summary>
/// Runs a checked <see cref="ExplainSettings"/>, in process or through a coordinator, writing the
/// explanation as it streams (<see cref="ExplanationOutput"/>) with progress on stderr, and ends with
/// a few lines on stdout: where the files are and what the walk showed.
/// </summary>
internal static class ExplainRun
{
    public static async Task<int> ExecuteAsync(ExplainSettings settings, TextWriter stdout, TextWriter stderr, ConsoleProgress progress, CancellationToken cancellation)
    {
        var summary = settings.Coordinator is null
            ? await InProcessAsync(settings, stderr, progress, cancellation).ConfigureAwait(false)
            : await CoordinatorExplanation.RunAsync(settings, progress, cancellation).ConfigureAwait(false);
        // The status line goes before the report, which shares the terminal.
        progress.Dispose();
        Report(summary, settings.OutputDirectory, stdout);
        return ExitCodes.Success;
    }

    private static async Task<ExplanationSummary> InProcessAsync(ExplainSettings settings, TextWriter stderr, ConsoleProgress progress, CancellationToken cancellation)
    {
        var (pairing, model) = ModelCatalog.Resolve(ModelCatalog.FindRoot(settings.ModelsDirectory), settings.Classifier);
        if (pairing.Synthetic)
            stderr.WriteLine($"grpcexplain: '{pairing.Name}' is a synthetic placeholder (random generator, classifier built on a known latent direction), not a trained model: see {pairing.CardPath}.");
        using var explainer = InProcessExplainer.Open(pairing, model, settings.Backend, settings.DirectionsPath);
        if (explainer.Generator.EncoderRefusal is { } refusal)
            stderr.WriteLine($"grpcexplain: the encoder is not used: {refusal}");
        if (settings.ProjectionSteps == 0)
            settings = settings with { ProjectionSteps = explainer.Generator.HasEncoder ? InProcessGenerator.EncoderStartSteps : InProcessGenerator.WAvgStartSteps };
        if (settings.Method == DirectionMethod.Gradient && !explainer.IsWhiteBox)
            throw new UsageException($"--direction gradient needs a white-box classifier, and '{model}' is a black box (its folder {Path.Combine(pairing.ClassifierRepository, model)} " +
                "has no reference.safetensors, so it gives no image gradient): use --direction black-box (the same gradient, estimated from predictions) or linear-probe.");
        int target = explainer.TargetClass(settings.Target);
        var info = explainer.Generator.Info;
        var image = ExplainImages.Read(settings.ImagePath, info.ImageChannels, info.ImageResolution, settings.Fit ?? explainer.Classifier.Description.Fit);

        var walk = await explainer.ChooseWalkAsync(target, settings.Method, settings.ProbeSamples, settings.MaxAlpha, settings.StopAt, settings.Frames,
            (p, _) =>
            {
                progress.Report($"fitting the direction ({p.Stage})", p.SamplesDone, p.NumSamples);
                return ValueTask.CompletedTask;
            }, cancellation).ConfigureAwait(false);

        var output = new ExplanationOutput(settings.OutputDirectory, Context(settings, pairing.Folder, pairing.Synthetic, model, explainer.Classifier.Description.Version, target, walk.MaxAlpha));
        await foreach (var e in explainer.ExplainAsync(image, target, settings.Method, walk, settings.ProjectionSteps, settings.WPlus, settings.ProbeSamples, cancellation)
            .ConfigureAwait(false))
        {
            switch (e)
            {
                case OriginalPredicted o:
                    output.Original(ExplainImages.Png(o.Input), o.Prediction);
                    break;
                case ProjectionProgressed p:
                    progress.Report("projecting", p.Progress.Step, p.Progress.NumSteps);
                    break;
                case Reconstructed r:
                    output.Reconstruction(ExplainImages.Png(r.Projection.Reconstruction), r.Prediction, r.Projection.MeanSquaredError, r.Warning, r.Projection.FromEncoder);
                    break;
                case DirectionChosen d:
                    output.Direction(new DirectionEntry(MethodName(d.Method), d.Stored?.Id, d.Stored?.Probe.HeldOutAccuracy, d.Stored?.Probe.HeldOutAuc));
                    break;
                case FrameMade f:
                    output.Frame(f.Frame.Index, f.Frame.Alpha, ExplainImages.Png(f.Frame.Image), f.Frame.Prediction, f.Frame.RmsDistanceToReconstruction);
                    progress.Report("walking", f.Frame.Index + 1, settings.Frames);
                    break;
                case HeatMapMade h:
                    output.HeatMap(HeatMapName(h.HeatMap.Method), ExplainImages.Png(HeatMapOverlay.Render(h.Original, h.HeatMap), 3, h.HeatMap.Height, h.HeatMap.Width));
                    break;
                case Summarised s:
                    return output.Finish(s.Summary.FlipAlpha, s.Summary.Spearman, s.Summary.RmsTotalImageChange, s.ElapsedSeconds);
            }
        }
        throw new InvalidOperationException("The explanation ended without a summary.");
    }

    public static ExplanationContext Context(ExplainSettings settings, string source, bool? synthetic, string classifier, string version, int target, float maxAlpha) =>
        new(Path.GetFullPath(settings.ImagePath), source, synthetic, classifier, version, target, maxAlpha, settings.StopAt, settings.Frames, settings.ProjectionSteps,
            settings.WPlus ? "w+" : "w");

    public static string MethodName(DirectionMethod method) => method switch
    {
        DirectionMethod.Gradient => "gradient",
        DirectionMethod.BlackBoxGradientEstimate => "black_box_gradient_estimate",
        _ => "linear_probe",
    };

    public static string HeatMapName(HeatMapMethod method) => method == HeatMapMethod.GradCam ? "grad_cam" : "occlusion";

    private static string HeatMapTitle(string name) => name switch
    {
        "grad_cam" => "Grad-CAM",
        "occlusion" => "occlusion sensitivity",
        _ => "no heat map",
    };

    public static void Report(ExplanationSummary s, string folder, TextWriter stdout)
    {
        string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        string target = s.TargetLabel is null ? $"class {s.TargetClass}" : $"'{s.TargetLabel}'";
        var last = s.Frames[^1];
        stdout.WriteLine($"Explained {s.Image} with classifier {s.Classifier}: p({target}) {F(s.OriginalProbabilities[s.TargetClass])} on the input, " +
            $"{F(s.ReconstructionProbabilities[s.TargetClass])} on its reconstruction (PSNR {(s.ReconstructionPsnr is { } psnr ? F(psnr) + " dB" : "exact")}), " +
            $"{F(last.TargetProbability)} at alpha {F(last.Alpha)} after {s.Frames.Count} frames.");
        stdout.WriteLine(s.FlipAlpha is { } flip ? $"The prediction flips at alpha {F(flip)}; monotonicity (Spearman) {F(s.Monotonicity)}." :
            $"The prediction does not flip within alpha {F(s.MaxAlpha)}; monotonicity (Spearman) {F(s.Monotonicity)}.");
        if (s.ReconstructionWarning is { } warning) stdout.WriteLine($"Warning: {warning}");
        stdout.WriteLine($"Wrote {Path.GetFullPath(folder)}: {ExplanationOutput.FramesFolder}/000-{s.Frames.Count - 1:D3}.png, {ExplanationOutput.StripFile}, {ExplanationOutput.GifFile}, " +
            $"{ExplanationOutput.PlotFile}, {ExplanationOutput.HeatMapFile} ({HeatMapTitle(s.HeatMapMethod)}), {ExplanationOutput.SummaryFile} ({F(s.ElapsedSeconds)} s).");
    }
}
