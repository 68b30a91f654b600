using System.Text.Json;
using GrpcExplain.Cli.Explain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>What <c>grpcexplain explain</c> writes, in process and through a coordinator, on the bundled synthetic pairing.</summary>
public sealed class ExplainEndToEndTests(ExplainFixture run) : IClassFixture<ExplainFixture>
{
    private static readonly string[] Files =
    [
        ExplanationOutput.GifFile, ExplanationOutput.HeatMapFile, ExplanationOutput.InputFile, ExplanationOutput.PlotFile,
        ExplanationOutput.ReconstructionFile, ExplanationOutput.StripFile, ExplanationOutput.SummaryFile,
    ];

    [Fact]
    public void InProcessWritesEveryFile()
    {
        Assert.True(run.InProcess.ExitCode == 0, run.InProcess.ToString());
        AssertFiles(run.InProcessOut);
        Assert.Contains("synthetic placeholder", run.InProcess.Stderr, StringComparison.Ordinal);
        Assert.Contains($"Wrote {run.InProcessOut}", run.InProcess.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void SummaryHasTheFieldsWithSaneValues()
    {
        var s = ExplainFixture.Summary(run.InProcessOut);
        AssertProbabilities(s.GetProperty("original_probabilities"));
        AssertProbabilities(s.GetProperty("reconstruction_probabilities"));
        double psnr = s.GetProperty("reconstruction_psnr").GetDouble();
        Assert.InRange(psnr, 5, 60);
        // PSNR over the [-1, 1] range (peak-to-peak 2) of the reported MSE.
        Assert.Equal(10 * Math.Log10(4 / s.GetProperty("reconstruction_mse").GetDouble()), psnr, 6);
        var frames = s.GetProperty("frames").EnumerateArray().ToList();
        Assert.InRange(frames.Count, 2, ExplainFixture.Frames);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.Equal(i, frames[i].GetProperty("index").GetInt32());
            AssertProbabilities(frames[i].GetProperty("probabilities"));
            Assert.Equal($"frames/{i:D3}.png", frames[i].GetProperty("file").GetString());
        }
        Assert.Equal(0f, frames[0].GetProperty("alpha").GetSingle());
        Assert.True(frames.Zip(frames.Skip(1)).All(p => p.Second.GetProperty("alpha").GetSingle() > p.First.GetProperty("alpha").GetSingle()), "alphas rise along the walk");
        Assert.True(s.GetProperty("flip_alpha").ValueKind is JsonValueKind.Null or JsonValueKind.Number);
        Assert.InRange(s.GetProperty("monotonicity").GetDouble(), -1, 1);
        Assert.True(s.GetProperty("synthetic_models").GetBoolean());
        Assert.Equal("linear_probe", s.GetProperty("direction").GetProperty("method").GetString());
        Assert.Equal("occlusion", s.GetProperty("heat_map_method").GetString());
        Assert.Equal(["away", "towards"], s.GetProperty("class_labels").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1, s.GetProperty("target_class").GetInt32());
        // The synthetic pairing has no encoder.safetensors.
        Assert.Equal("mean_w", s.GetProperty("projection_start").GetString());
    }

    [Fact]
    public void TheTargetProbabilityMovesTowardsTheTarget()
    {
        var s = ExplainFixture.Summary(run.InProcessOut);
        var p = s.GetProperty("frames").EnumerateArray().Select(f => f.GetProperty("target_probability").GetDouble()).ToList();
        Assert.True(p[^1] > p[0] + 0.05, $"target probability along the walk: {string.Join(", ", p)}");
        Assert.True(s.GetProperty("monotonicity").GetDouble() > 0.8, $"monotonicity {s.GetProperty("monotonicity").GetDouble()}");
        // The first frame is the reconstruction itself.
        Assert.Equal(s.GetProperty("reconstruction_probabilities")[1].GetDouble(), p[0], 5);
    }

    [Fact]
    public void PicturesShowEveryFrame()
    {
        int frames = Directory.GetFiles(Path.Combine(run.InProcessOut, ExplanationOutput.FramesFolder)).Length;
        Assert.Equal(ExplainFixture.Summary(run.InProcessOut).GetProperty("frames").GetArrayLength(), frames);
        using (var frame = Image.Load<Rgb24>(Path.Combine(run.InProcessOut, "frames", "000.png")))
            Assert.Equal((64, 64), (frame.Width, frame.Height));
        using (var gif = Image.Load<Rgba32>(Path.Combine(run.InProcessOut, ExplanationOutput.GifFile)))
            Assert.Equal(frames, gif.Frames.Count);
        using (var strip = Image.Load<Rgba32>(Path.Combine(run.InProcessOut, ExplanationOutput.StripFile)))
            Assert.True(strip.Width > frames * 128, $"strip {strip.Width}x{strip.Height} for {frames} frames");
        using (var heat = Image.Load<Rgb24>(Path.Combine(run.InProcessOut, ExplanationOutput.HeatMapFile)))
            Assert.Equal((396, 462), (heat.Width, heat.Height));
        using var plot = Image.Load<Rgba32>(Path.Combine(run.InProcessOut, ExplanationOutput.PlotFile));
        Assert.Equal((640, 420), (plot.Width, plot.Height));
    }

    [Fact]
    public void ThroughACoordinatorTheSameFilesAreWritten()
    {
        Assert.True(run.ThroughCoordinator.ExitCode == 0, run.ThroughCoordinator.ToString());
        AssertFiles(run.CoordinatorOut);
        var remote = ExplainFixture.Summary(run.CoordinatorOut);
        var local = ExplainFixture.Summary(run.InProcessOut);
        // The same ONNX model on the same input, in this process and behind the coordinator.
        for (int k = 0; k < 2; k++)
            Assert.Equal(local.GetProperty("original_probabilities")[k].GetDouble(), remote.GetProperty("original_probabilities")[k].GetDouble(), 5);
        Assert.Equal(JsonValueKind.Null, remote.GetProperty("synthetic_models").ValueKind);
        Assert.Equal(ExplainSettings.CoordinatorMaxAlpha, remote.GetProperty("max_alpha").GetSingle());
        Assert.Equal("mean_w", remote.GetProperty("projection_start").GetString());
        var p = remote.GetProperty("frames").EnumerateArray().Select(f => f.GetProperty("target_probability").GetDouble()).ToList();
        Assert.True(p[^1] > p[0], $"target probability along the walk: {string.Join(", ", p)}");
        // The file went framed (80x72); input.png is the fitted input the coordinator sent back: the example.
        using var example = Image.Load<Rgb24>(run.Input);
        using var input = Image.Load<Rgb24>(Path.Combine(run.CoordinatorOut, ExplanationOutput.InputFile));
        Assert.Equal(Pixels(example), Pixels(input));
    }

    [Fact]
    public void AStoredDirectionIsReusedAndAFixedRangeWalksEveryFrame()
    {
        string output = Path.Combine(run.Dir, "again");
        var result = CliHarness.Run(run.InProcessArgs(output, 3, "--stop-at", "none", "--max-alpha", "1.5"));
        Assert.True(result.ExitCode == 0, result.ToString());
        var again = ExplainFixture.Summary(output);
        Assert.Equal(ExplainFixture.Summary(run.InProcessOut).GetProperty("direction").GetProperty("id").GetString(), again.GetProperty("direction").GetProperty("id").GetString());
        Assert.Equal([0f, 0.75f, 1.5f], again.GetProperty("frames").EnumerateArray().Select(f => f.GetProperty("alpha").GetSingle()));
        Assert.Equal(JsonValueKind.Null, again.GetProperty("stop_at").ValueKind);
    }

    [Fact]
    public void AFileOfAnotherSizeIsFittedAsAskedOrAsTheClassifierWasTrained()
    {
        // The 64x64 example in the middle of a wider white frame: its central crop is the example itself.
        using var example = Image.Load<Rgb24>(run.Input);
        string file = run.Framed;

        string cropped = Path.Combine(run.Dir, "cropped"), resized = Path.Combine(run.Dir, "resized");
        var crop = CliHarness.Run([.. run.InProcessArgs(cropped, 2, "--stop-at", "none", "--fit", "crop").Select(a => a == run.Input ? file : a)]);
        Assert.True(crop.ExitCode == 0, crop.ToString());
        // The classifier's config says resize (the default): the frame shrinks into the picture.
        var resize = CliHarness.Run([.. run.InProcessArgs(resized, 2, "--stop-at", "none").Select(a => a == run.Input ? file : a)]);
        Assert.True(resize.ExitCode == 0, resize.ToString());

        using var croppedInput = Image.Load<Rgb24>(Path.Combine(cropped, ExplanationOutput.InputFile));
        using var resizedInput = Image.Load<Rgb24>(Path.Combine(resized, ExplanationOutput.InputFile));
        Assert.Equal(Pixels(example), Pixels(croppedInput));
        Assert.Equal((64, 64), (resizedInput.Width, resizedInput.Height));
        Assert.NotEqual(Pixels(example), Pixels(resizedInput));
        Assert.Equal(new Rgb24(255, 255, 255), resizedInput[0, 32]);
    }

    private static Rgb24[] Pixels(Image<Rgb24> image)
    {
        var pixels = new Rgb24[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    private static void AssertFiles(string folder)
    {
        Assert.Equal(Files.Order(StringComparer.Ordinal), Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var frames = Directory.GetFiles(Path.Combine(folder, ExplanationOutput.FramesFolder)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Enumerable.Range(0, frames.Count).Select(i => $"{i:D3}.png"), frames);
    }

    private static void AssertProbabilities(JsonElement probabilities)
    {
        var p = probabilities.EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(2, p.Count);
        Assert.All(p, v => Assert.InRange(v, 0, 1));
        Assert.Equal(1, p.Sum(), 4);
    }
}
