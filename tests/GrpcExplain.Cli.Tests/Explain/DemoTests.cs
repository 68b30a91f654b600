using GrpcExplain.Cli.Demo;
using GrpcExplain.Cli.Explain;
using DirectionMethod = GrpcExplain.Explain.DirectionMethod;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>
/// <c>grpcexplain demo</c> end to end on loopback, with short walks: on the synthetic placeholder alone
/// (and it says so), and on a models folder where two trained pairings sit beside it (both are explained,
/// each into its own folder; the placeholder is not used).
/// </summary>
public sealed class DemoTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-demo-").FullName;
    private readonly string _bundled = Path.Combine(ModelCatalog.FindRoot(null), "synthetic-64");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private CliResult Demo(string models, string output) =>
        CliHarness.Run("demo", "--models", models, "--out", output, "--frames", "3", "--projection-steps", "2", "--probe-samples", "40", "--backend", "cpu");

    [Fact]
    public void ExplainsTheExamplesOfTheSyntheticPlaceholderAndSaysSo()
    {
        string models = Directory.CreateDirectory(Path.Combine(_dir, "placeholder-only")).FullName;
        Copy(_bundled, Path.Combine(models, "synthetic-64"));
        string output = Path.Combine(_dir, "out");
        var result = Demo(models, output);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Models: synthetic-64, a SYNTHETIC PLACEHOLDER", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("coordinator listening on http://127.0.0.1:", result.Stdout, StringComparison.Ordinal);
        foreach (var example in Directory.GetFiles(Path.Combine(_bundled, ModelPairing.ExamplesFolder)))
            Assert.True(File.Exists(Path.Combine(output, Path.GetFileNameWithoutExtension(example), ExplanationOutput.SummaryFile)), $"{example}: {result}");
        Assert.False(Directory.Exists(Path.Combine(output, "synthetic-64")), "one pairing explains straight into --out");
        Assert.Contains($"Results in {output}", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplainsEveryTrainedPairingWhenSomeAreBundled()
    {
        string models = Directory.CreateDirectory(Path.Combine(_dir, "models")).FullName;
        Copy(_bundled, Path.Combine(models, "a-placeholder"));
        string trained = Path.Combine(models, "trained");
        Copy(_bundled, trained);
        File.WriteAllText(Path.Combine(trained, ModelPairing.CardFile), "---\ndataset: none (a test's stand-in for a trained pairing)\n---\n");
        Directory.Delete(Path.Combine(trained, ModelPairing.ExamplesFolder), recursive: true);
        string second = Path.Combine(models, "trained-too");
        Copy(trained, second);

        string output = Path.Combine(_dir, "trained-out");
        var result = Demo(models, output);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("SYNTHETIC", result.Stdout, StringComparison.Ordinal);
        foreach (string pairing in new[] { trained, second })
        {
            Assert.Contains($"Models: {Path.GetFileName(pairing)} ({Path.Combine(pairing, ModelPairing.CardFile)})", result.Stdout, StringComparison.Ordinal);
            // Without examples, the demo explains images its generator made.
            string folder = Path.Combine(output, Path.GetFileName(pairing));
            Assert.Equal(3, Directory.GetFiles(Path.Combine(folder, "inputs"), "*.png").Length);
            Assert.True(File.Exists(Path.Combine(folder, "generated_0", ExplanationOutput.SummaryFile)), result.ToString());
        }
        Assert.False(Directory.Exists(Path.Combine(output, "a-placeholder")), result.ToString());
    }

    [Theory]
    [InlineData(0.62, true, DirectionMethod.Gradient)]
    [InlineData(0.62, false, DirectionMethod.LinearProbe)]
    [InlineData(0.75, true, DirectionMethod.LinearProbe)]
    [InlineData(0.95, true, DirectionMethod.LinearProbe)]
    public void AWeakProbeGivesWayToTheGradientOfAWhiteBox(double auc, bool whiteBox, DirectionMethod expected) =>
        Assert.Equal(expected, DemoRun.Method(auc, whiteBox));

    /// <summary>
    /// Latents spread 3 along the first axis and 1 along the three others (exactly: ±3 and ±1 in turn):
    /// a probe along the first axis walks 4 spreads of 3; a gradient walk, with no direction known before
    /// the explanation, 4 of the mean spread over all directions, √((9 + 1 + 1 + 1) / 4) = √3.
    /// </summary>
    [Fact]
    public void TheDemosReachIsExplainsDefault()
    {
        var values = new float[8 * 4];
        for (int n = 0; n < 8; n++)
        {
            float sign = n % 2 == 0 ? 1 : -1;
            values[n * 4] = 3 * sign + 0.5f;
            for (int j = 1; j < 4; j++) values[n * 4 + j] = (n / 2 % 2 == 0 ? 1 : -1) * (j % 2 == 0 ? sign : 1) - 0.25f;
        }
        var latents = new GrpcExplain.Explain.Generation.Latents(values, 8, 4);
        float[] axis = [1, 0, 0, 0];
        Assert.Equal(ExplainSettings.SpreadsWalked * 3, DemoRun.Reach(latents, axis, DirectionMethod.LinearProbe), 4);
        Assert.Equal(ExplainSettings.SpreadsWalked * MathF.Sqrt(3), DemoRun.Reach(latents, axis, DirectionMethod.Gradient), 4);
    }

    private static void Copy(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
