using System.Text.Json;
using GrpcExplain.Cli.Explain;
using Microsoft.Data.Sqlite;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>
/// The bundled synthetic pairing (models/synthetic-64) explained once in process and once through a
/// coordinator on loopback (sent in a wider white frame, with --fit crop: the coordinator fits it back
/// to the example), with few projection steps and probe samples so that the whole class runs in
/// seconds; the tests read what the two runs wrote.
/// </summary>
public sealed class ExplainFixture : IAsyncLifetime
{
    public const string Classifier = "synthetic_direction";
    public const int Frames = 6;

    public string Dir { get; } = Directory.CreateTempSubdirectory("cli-explain-").FullName;
    public string Models { get; } = ModelCatalog.FindRoot(null);
    public string Input => Directory.GetFiles(Path.Combine(Models, "synthetic-64", "examples"), "*.png").Order(StringComparer.Ordinal).Last();
    public string InProcessOut => Path.Combine(Dir, "in-process");
    public string CoordinatorOut => Path.Combine(Dir, "coordinator");
    /// <summary>The example in the middle of an 80x72 white frame: its central crop is the example.</summary>
    public string Framed => Path.Combine(Dir, "framed.png");
    public string Directions => Path.Combine(Dir, "directions.db");
    internal CliResult InProcess { get; private set; } = null!;
    internal CliResult ThroughCoordinator { get; private set; } = null!;

    /// <summary>The in-process run's arguments; a test adds or overrides options.</summary>
    public string[] InProcessArgs(string output, int frames, params string[] more) =>
        ["explain", Input, "--classifier", Classifier, "--target", "towards", "--frames", $"{frames}", "--out", output, "--projection-steps", "4",
         "--probe-samples", "100", "--directions", Directions, "--backend", "cpu", "--models", Models, .. more];

    public async ValueTask InitializeAsync()
    {
        InProcess = CliHarness.Run(InProcessArgs(InProcessOut, Frames));
        var pairing = ModelCatalog.Scan(Models).Single(p => p.Name == "synthetic-64");
        await using var services = await Demo.LoopbackServices.StartAsync(pairing, Path.Combine(Dir, "coordinator.db"), 100, "cpu", TextWriter.Null, TextWriter.Null,
            TestContext.Current.CancellationToken);
        using (var example = Image.Load<Rgb24>(Input))
        using (var framed = new Image<Rgb24>(80, 72, new Rgb24(255, 255, 255)))
        {
            framed.Mutate(c => c.DrawImage(example, new Point(8, 4), 1f));
            await framed.SaveAsPngAsync(Framed, TestContext.Current.CancellationToken);
        }
        ThroughCoordinator = CliHarness.Run("explain", Framed, "--coordinator", services.Coordinator.ToString(), "--classifier", Classifier, "--target", "1",
            "--frames", $"{Frames}", "--out", CoordinatorOut, "--projection-steps", "4", "--fit", "crop");
        await services.StopAsync();
    }

    public static JsonElement Summary(string folder) => JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, ExplanationOutput.SummaryFile))).RootElement;

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Dir, recursive: true);
        return ValueTask.CompletedTask;
    }
}
