using System.Text.Json;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Cli.Explain;
using Microsoft.Data.Sqlite;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>
/// <c>grpcexplain explain --direction gradient</c> on a white-box classifier: a models folder whose pairing has
/// the bundled synthetic generator and a tiny reference CNN (random weights) written as ReferenceCnnExport writes
/// a trained one, explained in process and through the three services on loopback. Both walk the gradient and
/// show Grad-CAM.
/// </summary>
public sealed class WhiteBoxExplainTests : IDisposable
{
    private const string Pairing = "white-64", Classifier = "reference_cnn";
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-explain-whitebox-").FullName;
    private readonly string _bundled = ModelCatalog.FindRoot(null);

    private string Models => Path.Combine(_dir, "models");

    private string Input => Directory.GetFiles(Path.Combine(_bundled, "synthetic-64", "examples"), "*.png").Order(StringComparer.Ordinal).First();

    public WhiteBoxExplainTests()
    {
        string folder = Directory.CreateDirectory(Path.Combine(Models, Pairing)).FullName;
        File.Copy(Path.Combine(_bundled, "synthetic-64", ModelPairing.GeneratorFile), Path.Combine(folder, ModelPairing.GeneratorFile));
        var weights = ReferenceCnnWeights.Initialize(new ReferenceCnnConfig(64, 3, [4, 8], ["normal", "tumor"]), seed: 2);
        ReferenceCnnExport.Write(weights, Path.Combine(folder, ModelPairing.ClassifiersFolder), Classifier, ImageFit.Resize);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string[] Args(string output, params string[] more) =>
        ["explain", Input, "--classifier", Classifier, "--target", "1", "--direction", "gradient", "--frames", "3", "--out", output, "--projection-steps", "2", .. more];

    [Fact]
    public void InProcessTheGradientIsWalkedAndTheHeatMapIsGradCam()
    {
        string output = Path.Combine(_dir, "in-process");
        var result = CliHarness.Run(Args(output, "--models", Models, "--backend", "cpu", "--directions", Path.Combine(_dir, "d.db")));
        Assert.True(result.ExitCode == 0, result.ToString());
        AssertGradientAndGradCam(output);
        Assert.Contains($"{ExplanationOutput.HeatMapFile} (Grad-CAM)", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughTheCoordinatorTheGradientIsWalkedAndTheHeatMapIsGradCam()
    {
        var pairing = ModelCatalog.Scan(Models).Single();
        await using var services = await GrpcExplain.Cli.Demo.LoopbackServices.StartAsync(pairing, Path.Combine(_dir, "coordinator.db"), 100, "cpu", TextWriter.Null, TextWriter.Null,
            TestContext.Current.CancellationToken);
        string output = Path.Combine(_dir, "coordinator");
        var result = CliHarness.Run(Args(output, "--coordinator", services.Coordinator.ToString()));
        await services.StopAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
        AssertGradientAndGradCam(output);
    }

    private static void AssertGradientAndGradCam(string output)
    {
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, ExplanationOutput.SummaryFile))).RootElement;
        Assert.Equal("gradient", summary.GetProperty("direction").GetProperty("method").GetString());
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("direction").GetProperty("id").ValueKind);
        Assert.Equal("grad_cam", summary.GetProperty("heat_map_method").GetString());
        Assert.Equal(["normal", "tumor"], summary.GetProperty("class_labels").EnumerateArray().Select(l => l.GetString()));
        using var heat = Image.Load<Rgb24>(Path.Combine(output, ExplanationOutput.HeatMapFile));
        Assert.Equal((396, 462), (heat.Width, heat.Height));
        // The figure's colour scale runs from mid-grey (no relevance) to the overlay's full red (0.6 of red over grey).
        Assert.Equal(new Rgb24(128, 128, 128), heat[6, 440]);
        Assert.Equal(new Rgb24(204, 51, 51), heat[6 + 383, 440]);
        // The enlarged overlay: 64x64 pixels drawn 6x6 each, so neighbours inside one block agree.
        Assert.Equal(heat[6 + 6 * 20, 44 + 6 * 30], heat[6 + 6 * 20 + 5, 44 + 6 * 30 + 5]);
    }
}
