using GrpcExplain.Cli.Explain;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>
/// <c>grpcexplain demo</c> end to end on loopback, with short walks: on the bundled models (the synthetic
/// placeholder, and it says so), and on a models folder where a trained pairing sits beside it (the
/// trained one is used).
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
        string output = Path.Combine(_dir, "out");
        var result = Demo(Path.GetDirectoryName(_bundled)!, output);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Models: synthetic-64, a SYNTHETIC PLACEHOLDER", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("coordinator listening on http://127.0.0.1:", result.Stdout, StringComparison.Ordinal);
        foreach (var example in Directory.GetFiles(Path.Combine(_bundled, ModelPairing.ExamplesFolder)))
            Assert.True(File.Exists(Path.Combine(output, Path.GetFileNameWithoutExtension(example), ExplanationOutput.SummaryFile)), $"{example}: {result}");
        Assert.Contains($"Results in {output}", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void UsesATrainedPairingWhenOneIsBundled()
    {
        string models = Directory.CreateDirectory(Path.Combine(_dir, "models")).FullName;
        Copy(_bundled, Path.Combine(models, "a-placeholder"));
        string trained = Path.Combine(models, "trained");
        Copy(_bundled, trained);
        File.WriteAllText(Path.Combine(trained, ModelPairing.CardFile), "---\ndataset: none (a test's stand-in for a trained pairing)\n---\n");
        Directory.Delete(Path.Combine(trained, ModelPairing.ExamplesFolder), recursive: true);

        string output = Path.Combine(_dir, "trained-out");
        var result = Demo(models, output);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Models: trained ({Path.Combine(trained, ModelPairing.CardFile)})", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("SYNTHETIC", result.Stdout, StringComparison.Ordinal);
        // Without examples, the demo explains images its generator made.
        Assert.Equal(3, Directory.GetFiles(Path.Combine(output, "inputs"), "*.png").Length);
        Assert.True(File.Exists(Path.Combine(output, "generated_0", ExplanationOutput.SummaryFile)), result.ToString());
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
