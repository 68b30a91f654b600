using System.Globalization;
using System.Text;
using System.Text.Json;
using GrpcExplain.Classifiers;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;
using GrpcExplain.Training.Encoder;
using StyleGanEncoder = GrpcExplain.StyleGan.Encoding.Encoder;

namespace GrpcExplain.Cli.Train;

/// <summary>
/// Runs <c>grpcexplain train encoder</c>: trains on the generator's samples with a progress line
/// (samples/s, loss), measures the result on held-out samples (and real images when asked), then writes
/// the weights, a JSON report beside them (NAME.json) and, when a MODEL_CARD.md is in that folder, its
/// "## Encoder" section; every file is written whole or not at all.
/// </summary>
internal static class TrainEncoderRun
{
    public const string CardSection = "## Encoder";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static int Execute(TrainEncoderRequest request, TextWriter stdout, ConsoleProgress progress, CancellationToken cancellation)
    {
        GeneratorWeights weights;
        try
        {
            weights = GeneratorWeights.Load(request.Weights);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"--weights: {e.Message}");
        }
        using var backend = Backends.Create(request.Backend);
        using var generator = new StyleGan.Generator(backend, weights);
        var o = request.Options;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training an encoder for generator {weights.ContentHash[..16]} ({weights.Config.ImgChannels}x{weights.Config.ImgResolution}x{weights.Config.ImgResolution}, w_dim {weights.Config.WDim}) " +
            $"on {backend.Name} ({backend.Device}): up to {o.Samples} samples or {o.Minutes:G} minutes, batch {o.Batch}, lr {o.LearningRate:G3}, channels {string.Join("/", o.Channels ?? [])}."));
        progress.Report("sampling the mean w", 0, o.Samples);
        var result = EncoderTrainer.Train(generator, o, p => progress.Report(string.Create(CultureInfo.InvariantCulture,
            $"{p.SamplesPerSecond:F0} samples/s | loss {p.Loss:F4} | samples"), (int)p.Samples, (int)p.MaxSamples), cancellation);
        progress.Dispose();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Trained on {result.Samples} samples in {result.Elapsed.TotalMinutes:F1} min ({result.Samples / result.Elapsed.TotalSeconds:F1} samples/s){(result.StoppedByTime ? ", stopped by --minutes" : "")}; last loss {result.FinalLoss:F4}."));

        var real = request.RealData is null ? null
            : EncoderEvaluation.RealImages(request.RealData, weights.Config.ImgChannels, weights.Config.ImgResolution, request.Fit, request.RealImages);
        using var encoder = new StyleGanEncoder(backend, result.Weights);
        var evaluation = EncoderEvaluation.Measure(generator, encoder, o.EvaluationSamples, real, cancellation);
        stdout.WriteLine(Describe(evaluation));

        result.Weights.Save(request.Output);
        var report = new EncoderReport(weights.ContentHash, request.CommandLine, backend.Name, backend.Device, result.Samples, Math.Round(result.Elapsed.TotalSeconds, 1),
            result.FinalLoss, result.StoppedByTime, evaluation);
        string reportPath = Path.ChangeExtension(request.Output, ".json");
        AtomicFiles.Write(reportPath, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(report, Indented) + "\n"));
        stdout.WriteLine($"Wrote {request.Output} and {reportPath}.");
        string card = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(request.Output))!, "MODEL_CARD.md");
        if (File.Exists(card))
        {
            AtomicFiles.Write(card, Encoding.UTF8.GetBytes(WithSection(File.ReadAllText(card), CardText(request, report))));
            stdout.WriteLine($"Updated the {CardSection} section of {card}.");
        }
        return ExitCodes.Success;
    }

    /// <summary>The report written beside the weights.</summary>
    internal sealed record EncoderReport(string GeneratorSha256, string Command, string Backend, string Device, long Samples, double Seconds, double FinalLoss,
        bool StoppedByTime, EncoderEvaluation Evaluation);

    private static string Describe(EncoderEvaluation e) => string.Create(CultureInfo.InvariantCulture,
        $"Held-out generated samples ({e.Generated.Images}): w error {e.WMeanSquaredError:F3} (normalised; the mean w scores about 1), G(E(x)) PSNR {e.Generated.PsnrDb:F2} dB SSIM {e.Generated.Ssim:F3} " +
        $"(G(w_avg): {e.GeneratedFromWAvg.PsnrDb:F2} dB, {e.GeneratedFromWAvg.Ssim:F3})") +
        (e.Real is { } r ? string.Create(CultureInfo.InvariantCulture, $"; real images ({r.Images}): PSNR {r.PsnrDb:F2} dB SSIM {r.Ssim:F3} (G(w_avg): {e.RealFromWAvg!.PsnrDb:F2} dB, {e.RealFromWAvg.Ssim:F3}).") : ".");

    private static string CardText(TrainEncoderRequest request, EncoderReport r)
    {
        var e = r.Evaluation;
        var text = new StringBuilder();
        text.AppendLine(CardSection).AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"`encoder.safetensors`: a small CNN (3x3 convolutions {string.Join("/", request.Options.Channels ?? [])} with ReLU and 2x2 average pooling, the flattened last map to one fully connected layer) that maps an image to w, the warm start of projection. " +
            $"Trained for this generator only (its content hash {r.GeneratorSha256[..16]}… is in the file; another generator's projection refuses it and starts from the mean w) on {r.Samples:N0} of the generator's own samples (z ~ N(0, I), no truncation, stored noise), " +
            $"mean squared error of (w − w_avg) / w_scale{(request.Options.PixelWeight > 0 ? " plus " + request.Options.PixelWeight.ToString("G", CultureInfo.InvariantCulture) + " times that of G(E(x)) against x (back through synthesis)" : "")}, Adam, in {r.Seconds / 60:F1} minutes{(r.StoppedByTime ? " (the time limit)" : "")} on {r.Backend} ({r.Device}). Retrain it whenever the generator changes:"));
        text.AppendLine().AppendLine($"    {r.Command}").AppendLine();
        text.AppendLine("| images | start | PSNR (dB) | SSIM |").AppendLine("| --- | --- | ---: | ---: |");
        void Row(string images, string start, ReconstructionQuality q) => text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {images} | {start} | {q.PsnrDb:F2} | {q.Ssim:F3} |"));
        Row($"{e.Generated.Images} held-out generated", "G(E(x))", e.Generated);
        Row($"{e.Generated.Images} held-out generated", "G(w_avg)", e.GeneratedFromWAvg);
        if (e.Real is { } real)
        {
            Row($"{real.Images} real (validation)", "G(E(x))", real);
            Row($"{real.Images} real (validation)", "G(w_avg)", e.RealFromWAvg!);
        }
        text.AppendLine().AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Normalised w error on the held-out samples: {e.WMeanSquaredError:F3} (predicting the mean w scores about 1). Projection starts from E(x) and refines it in 40 steps by default (docs/benchmarks.md: on real images as close as 100 steps from the mean w)."));
        return text.ToString();
    }

    /// <summary>The card with its encoder section replaced (up to the next "## " heading), or appended.</summary>
    internal static string WithSection(string card, string section)
    {
        int start = card.IndexOf("\n" + CardSection + "\n", StringComparison.Ordinal);
        if (start < 0) return card.TrimEnd() + "\n\n" + section;
        int next = card.IndexOf("\n## ", start + CardSection.Length + 1, StringComparison.Ordinal);
        return card[..(start + 1)] + section + (next < 0 ? "" : "\n" + card[(next + 1)..]);
    }
}
