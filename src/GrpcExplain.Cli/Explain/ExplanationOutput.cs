using System.Text.Json;
using GrpcExplain.Cli.IO;
using GrpcExplain.Explain;

namespace GrpcExplain.Cli.Explain;

/// <summary>Where an explanation came from and what it was asked, for summary.json.</summary>
/// <param name="Source">The model pairing's folder (in process) or the coordinator's address.</param>
/// <param name="Synthetic">Whether the pairing is a synthetic placeholder; null with a coordinator (its models are its own).</param>
internal sealed record ExplanationContext(string Image, string Source, bool? Synthetic, string Classifier, string ClassifierVersion, int TargetClass,
    float MaxAlpha, float? StopAt, int MaxFrames, int ProjectionSteps, string LatentSpace);

/// <summary>One frame of the walk as summary.json lists it.</summary>
internal sealed record FrameEntry(int Index, float Alpha, float[] Probabilities, int PredictedClass, float TargetProbability, double RmsDistanceToReconstruction, string File);

/// <summary>The direction as summary.json describes it.</summary>
internal sealed record DirectionEntry(string Method, string? Id, double? HeldOutAccuracy, double? HeldOutAuc);

/// <summary>
/// summary.json. <see cref="Monotonicity"/> is Spearman's rank correlation of alpha and the target
/// probability over the frames (1: the probability only rises along the walk); <see cref="FlipAlpha"/>
/// the alpha nearest the reconstruction whose predicted class differs from the reconstruction's, null
/// when none does; PSNR in dB over the [-1, 1] range (peak-to-peak 2), null for an exact reconstruction;
/// <see cref="ProjectionStart"/> where the projection's steps started: "encoder" or "mean_w".
/// </summary>
internal sealed record ExplanationSummary(
    string Image, string Source, bool? SyntheticModels, string Classifier, string ClassifierVersion, IReadOnlyList<string> ClassLabels,
    int TargetClass, string? TargetLabel,
    float[] OriginalProbabilities, int OriginalPredictedClass,
    float[] ReconstructionProbabilities, int ReconstructionPredictedClass, double ReconstructionMse, double? ReconstructionPsnr, string? ReconstructionWarning,
    int ProjectionSteps, string ProjectionStart, string LatentSpace, DirectionEntry Direction,
    float MaxAlpha, float? StopAt, bool TargetReached, IReadOnlyList<FrameEntry> Frames,
    float? FlipAlpha, double Monotonicity, double RmsTotalImageChange, string HeatMapMethod, double ElapsedSeconds);

/// <summary>
/// Writes an explanation into its folder as its parts arrive: the reconstruction and each frame at
/// once (frames/NNN.png), then, when the walk is over, the strip, the GIF, the plot, the heat map and
/// summary.json. Every file is written under a temporary name and renamed into place.
/// </summary>
internal sealed class ExplanationOutput
{
    public const string FramesFolder = "frames", StripFile = "strip.png", GifFile = "walk.gif", PlotFile = "probability.png",
        HeatMapFile = "heatmap.png", SummaryFile = "summary.json", InputFile = "input.png", ReconstructionFile = "reconstruction.png";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    private readonly ExplanationContext _context;
    private readonly List<(FrameEntry Entry, byte[] Png)> _frames = [];
    private ClassPrediction? _original, _reconstruction;
    private double _mse;
    private bool _fromEncoder;
    private string? _warning, _heatMapMethod;
    private byte[]? _heatMapPng;
    private DirectionEntry? _direction;

    public ExplanationOutput(string folder, ExplanationContext context)
    {
        (Folder, _context) = (Path.GetFullPath(folder), context);
        Directory.CreateDirectory(Path.Combine(Folder, FramesFolder));
        // Frames of an earlier, longer walk into the same folder would look like part of this one.
        foreach (var stale in Directory.EnumerateFiles(Path.Combine(Folder, FramesFolder), "*.png")) File.Delete(stale);
    }

    public string Folder { get; }

    public int FrameCount => _frames.Count;

    /// <summary>The input as the models saw it (fitted to their resolution and channels) and the prediction on it.</summary>
    public void Original(byte[] inputPng, ClassPrediction prediction)
    {
        _original = prediction;
        Write(InputFile, inputPng);
    }

    public void Reconstruction(byte[] png, ClassPrediction prediction, double meanSquaredError, string? warning, bool fromEncoder)
    {
        (_reconstruction, _mse, _warning, _fromEncoder) = (prediction, meanSquaredError, string.IsNullOrEmpty(warning) ? null : warning, fromEncoder);
        Write(ReconstructionFile, png);
    }

    public void Direction(DirectionEntry direction) => _direction = direction;

    public void Frame(int index, float alpha, byte[] png, ClassPrediction prediction, double rmsDistance)
    {
        string file = $"{FramesFolder}/{index:D3}.png";
        Write(file, png);
        _frames.Add((new FrameEntry(index, alpha, prediction.Probabilities, prediction.PredictedClass, prediction.Probability(_context.TargetClass), rmsDistance, file), png));
    }

    /// <summary>The overlay (HeatMapOverlay, at the image's size); heatmap.png, the captioned figure, is drawn when the walk is over.</summary>
    public void HeatMap(string method, byte[] overlayPng) => (_heatMapMethod, _heatMapPng) = (method, overlayPng);

    /// <summary>The pictures of the walk and summary.json, once the explanation's summary has come.</summary>
    public ExplanationSummary Finish(float? flipAlpha, double spearman, double rmsTotalImageChange, double elapsedSeconds)
    {
        if (_original is null || _reconstruction is null || _direction is null || _frames.Count == 0)
            throw new InvalidOperationException("The explanation ended before its reconstruction, direction and frames had all come.");
        var labels = _original.ClassLabels;
        int target = _context.TargetClass;
        string? targetLabel = target < labels.Count ? labels[target] : null;
        var frames = _frames.Select(f => f.Entry).ToList();
        var summary = new ExplanationSummary(
            _context.Image, _context.Source, _context.Synthetic, _context.Classifier, _context.ClassifierVersion, labels, target, targetLabel,
            _original.Probabilities, _original.PredictedClass,
            _reconstruction.Probabilities, _reconstruction.PredictedClass, _mse, _mse > 0 ? 10 * Math.Log10(4 / _mse) : null, _warning,
            _context.ProjectionSteps, _fromEncoder ? "encoder" : "mean_w", _context.LatentSpace, _direction,
            _context.MaxAlpha, _context.StopAt, _context.StopAt is { } p && frames[^1].TargetProbability >= p, frames,
            flipAlpha, spearman, rmsTotalImageChange, _heatMapMethod ?? "none", elapsedSeconds);

        string name = targetLabel ?? $"class {target}";
        var cards = _frames.Select(f => new FrameCard(f.Png, f.Entry.Alpha, f.Entry.TargetProbability, f.Entry.PredictedClass == target, labels.ElementAtOrDefault(f.Entry.PredictedClass) ?? $"class {f.Entry.PredictedClass}")).ToList();
        Write(StripFile, WalkPictures.Strip(cards, $"{_context.Classifier}: walk towards '{name}'"));
        Write(GifFile, WalkPictures.Gif(cards));
        Write(PlotFile, WalkPictures.ProbabilityPlot(frames, name, flipAlpha, _context.StopAt));
        if (_heatMapPng is not null)
            Write(HeatMapFile, WalkPictures.HeatMapFigure(_heatMapPng, HeatMapCaption(_heatMapMethod, name), $"{_context.Classifier}; red: where the classifier's evidence for '{name}' lies"));
        AtomicFile.Write(Path.Combine(Folder, SummaryFile), stream => JsonSerializer.Serialize(stream, summary, Json));
        return summary;
    }

    private static string HeatMapCaption(string? method, string target) => method switch
    {
        "grad_cam" => $"Grad-CAM of '{target}' on the input",
        _ => $"Occlusion sensitivity: how far covering each patch lowers p('{target}')",
    };

    private void Write(string file, byte[] bytes) => AtomicFile.Write(Path.Combine(Folder, file), stream => stream.Write(bytes));
}
