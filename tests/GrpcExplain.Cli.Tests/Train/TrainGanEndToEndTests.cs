using System.Text.Json;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.Train;

/// <summary>Whole <c>train gan</c> runs on a tiny folder of PNGs: what a user finds in RUN/, and resuming.</summary>
public sealed class TrainGanEndToEndTests(TrainGanData data) : IClassFixture<TrainGanData>
{
    [Fact]
    public void ATinyRunWritesALoadableGeneratorSamplesLogStateMetricsAndCurves()
    {
        string run = data.NewRun();
        var result = CliHarness.Run(data.Tiny(run, "--kimg", "0.032", "--snapshot-kimg", "0.016", "--fid-images", "4", "--fid-kimg", "0.016"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        Assert.Contains("Training a 8x8 grey StyleGAN2", result.Stdout, StringComparison.Ordinal); // grey detected from the PNGs
        Assert.Contains("Trained to 0.032 kimg (8 minibatches", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("FID-ResNet18 ", result.Stdout, StringComparison.Ordinal);

        var weights = GeneratorWeights.Load(Path.Combine(run, "generator.safetensors"));
        Assert.Equal((8, 1, 8, 8, 2), (weights.Config.ImgResolution, weights.Config.ImgChannels, weights.Config.ZDim, weights.Config.WDim, weights.Config.MappingLayers));
        Assert.Contains(weights["mapping.w_avg"].Data, v => v != 0); // G_ema carries the tracked w_avg

        using (var grid = Image.Load<Rgb24>(Path.Combine(run, "samples", "kimg000000.png")))
            Assert.Equal((8 * 8, 4 * 8), (grid.Width, grid.Height)); // 32 samples, 8 columns

        var log = File.ReadAllLines(Path.Combine(run, "log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([4L, 8L], log.Select(e => e.GetProperty("step").GetInt64()));
        Assert.All(log, e => Assert.True(double.IsFinite(e.GetProperty("generator_loss").GetDouble()) && e.GetProperty("images_per_second").GetDouble() > 0));

        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "state.json")));
        Assert.Equal(8, state.RootElement.GetProperty("step").GetInt64());
        Assert.Equal(data.Data, state.RootElement.GetProperty("config").GetProperty("data").GetString());

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")));
        var m = metrics.RootElement;
        Assert.True(m.GetProperty("fid_resnet18").GetDouble() > 0);
        Assert.True(m.GetProperty("floor").GetDouble() >= 0);
        Assert.Equal((4, 12, 4), (m.GetProperty("generated_images").GetInt32(), m.GetProperty("train_images").GetInt32(), m.GetProperty("validation_images").GetInt32()));

        // FID-ResNet18 every 0.016 kimg while training (after minibatch 4) and at the end (8), the last one the metrics' own.
        var fid = File.ReadAllLines(Path.Combine(run, "fid.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([4L, 8L], fid.Select(e => e.GetProperty("step").GetInt64()));
        Assert.Equal(m.GetProperty("fid_resnet18").GetDouble(), fid[^1].GetProperty("fid").GetDouble());
        Assert.Equal(m.GetProperty("floor").GetDouble(), fid[^1].GetProperty("floor").GetDouble());
        Assert.All(fid, e => Assert.Equal(4, e.GetProperty("generated_images").GetInt32()));
        using var curves = Image.Load<Rgb24>(Path.Combine(run, "training.png"));
        Assert.Equal((800, 720), (curves.Width, curves.Height));
        Assert.Contains("curves: ", result.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Three sessions (to 0.016 kimg; a Ctrl-C as the second starts, which checkpoints; with --resume and
    /// nothing else on to 0.032) give the same checkpoint and generator, bit for bit, as one uninterrupted
    /// session to 0.032, and each resume says where it starts.
    /// </summary>
    [Fact]
    public void AnInterruptedAndResumedRunEndsWhereAnUninterruptedOneDoes()
    {
        string straight = data.NewRun(), resumed = data.NewRun();
        Assert.Equal(0, CliHarness.Run(data.Tiny(straight, "--kimg", "0.032", "--fid-images", "0")).ExitCode);

        var first = CliHarness.Run(data.Tiny(resumed, "--kimg", "0.016", "--fid-images", "0"));
        Assert.True(first.ExitCode == 0, first.ToString());
        using (var stdout = new StringWriter())
        using (var stderr = new StringWriter())
        {
            int code = CliApp.Run(data.Tiny(resumed, "--kimg", "0.032", "--fid-images", "0"), stdout, stderr, cancellation: new CancellationToken(canceled: true));
            Assert.True(code == 130, $"{code}\n{stdout}\n{stderr}");
            Assert.Contains("Resuming ", stdout.ToString(), StringComparison.Ordinal);
            Assert.Contains("stopped at 0.016 kimg; checkpoint and generator.safetensors written", stderr.ToString(), StringComparison.Ordinal);
        }
        var last = CliHarness.Run(["train", "gan", "--out", resumed, "--kimg", "0.032", "--fid-images", "0", "--resume"]); // the rest from the checkpoint
        Assert.True(last.ExitCode == 0, last.ToString());
        Assert.Contains("0.016 kimg (minibatch 4)", last.Stdout, StringComparison.Ordinal);

        var a = SafeTensors.Read(Path.Combine(straight, "checkpoint.safetensors")).Tensors;
        var b = SafeTensors.Read(Path.Combine(resumed, "checkpoint.safetensors")).Tensors;
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.All(a, p => Assert.True(p.Value.Data.AsSpan().SequenceEqual(b[p.Key].Data), p.Key));
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "generator.safetensors")), File.ReadAllBytes(Path.Combine(resumed, "generator.safetensors")));
    }

    /// <summary>On a terminal, one self-rewriting line with where the run is, its speed, losses, R1, ADA and the time left.</summary>
    [Fact]
    public void ATerminalSeesTheProgressLine()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = CliApp.Run(data.Tiny(data.NewRun(), "--kimg", "0.016", "--fid-images", "0"), stdout, stderr, interactive: true, cancellation: TestContext.Current.CancellationToken);
        Assert.True(code == 0, $"{code}\n{stdout}\n{stderr}");
        string last = stderr.ToString().Split('\r').Last(l => l.Contains("kimg", StringComparison.Ordinal));
        Assert.Matches(@"kimg 0\.016/0\.016 \| [0-9.]+ img/s \| G [0-9.]+ D [0-9.]+ R1 [0-9.e-]+ \| p 0\.00[0-9] r_t -?[0-9.]+ \| ETA 0:00 \| minibatches 4/4 \(100%\)", last);
    }

    /// <summary>
    /// A warm-started run begins from the given generator: through D's warm-up (both minibatches here) G's
    /// parameters stay the file's, so the exported G_ema does too (w_avg, a buffer, still tracks w). The
    /// same command then resumes it like any run, and G moves.
    /// </summary>
    [Fact]
    public void AWarmStartedRunBeginsFromTheGivenGeneratorAndResumes()
    {
        string warm = data.TrainedGenerator();
        var start = GeneratorWeights.Load(warm);

        string run = data.NewRun();
        string[] Line(string kimg) => data.Tiny(run, "--kimg", kimg, "--fid-images", "0", "--warm-start", warm, "--d-warmup-kimg", "0.008");
        var result = CliHarness.Run(Line("0.008"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Warm start: G and G_ema from {warm}", result.Stdout, StringComparison.Ordinal);
        var warmedUp = GeneratorWeights.Load(Path.Combine(run, "generator.safetensors"));
        Assert.All(start.Config.ParameterShapes(), p => Assert.Equal(start[p.Name].Data, warmedUp[p.Name].Data));

        var resumed = CliHarness.Run(Line("0.016"));
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("Resuming", resumed.Stdout, StringComparison.Ordinal);
        var moved = GeneratorWeights.Load(Path.Combine(run, "generator.safetensors"));
        Assert.Contains(start.Config.ParameterShapes(), p => !start[p.Name].Data.SequenceEqual(moved[p.Name].Data));
    }

    /// <summary>training.png is only a view of the logs: when it cannot be written (a folder stands in its place) the run warns and trains on.</summary>
    [Fact]
    public void AFigureThatCannotBeWrittenIsAWarningNotAnEndOfTraining()
    {
        string run = data.NewRun();
        Directory.CreateDirectory(Path.Combine(run, "training.png"));
        var result = CliHarness.Run(data.Tiny(run, "--kimg", "0.016", "--snapshot-kimg", "0.008", "--fid-images", "0"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("warning: training.png not redrawn", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("\"step\": 4,", File.ReadAllText(Path.Combine(run, "state.json")), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run, "generator.safetensors")));
    }

    /// <summary>While only D trains G_ema is the warm start, so FID waits for the warm-up's end (minibatch 2 here) and is measured from there on.</summary>
    [Fact]
    public void FidIsMeasuredFromTheEndOfTheDWarmUp()
    {
        string run = data.NewRun();
        var result = CliHarness.Run(data.Tiny(run, "--kimg", "0.016", "--fid-images", "4", "--fid-kimg", "0.004",
            "--warm-start", data.TrainedGenerator(), "--d-warmup-kimg", "0.008"));
        Assert.True(result.ExitCode == 0, result.ToString());
        var fid = File.ReadAllLines(Path.Combine(run, "fid.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64());
        Assert.Equal([2L, 3L, 4L], fid);
    }
}
