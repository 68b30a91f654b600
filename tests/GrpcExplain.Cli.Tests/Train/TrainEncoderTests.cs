using System.Text.Json;
using GrpcExplain.Cli.Train;
using GrpcExplain.StyleGan.Encoding;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Cli.Tests.Train;

/// <summary>
/// <c>grpcexplain train encoder</c> end to end on a tiny random generator: the weights (belonging to that
/// generator), the JSON report and the model card's Encoder section (replaced, not repeated, by a second
/// run); and command lines it refuses.
/// </summary>
public sealed class TrainEncoderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-train-encoder-").FullName;
    private readonly string _weights;

    public TrainEncoderTests() => _weights = TinyGenerators.Save(TinyGenerators.Grey, Path.Combine(_dir, "generator.safetensors"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A tiny run's command line; options in <paramref name="more"/> (pairs) replace the defaults of the same name.</summary>
    private string[] Args(params string[] more)
    {
        var options = new Dictionary<string, string>
        {
            ["--weights"] = _weights, ["--out"] = Path.Combine(_dir, "encoder.safetensors"), ["--samples"] = "64", ["--network-channels"] = "4,8", ["--backend"] = "cpu",
        };
        for (int i = 0; i + 1 < more.Length; i += 2) options[more[i]] = more[i + 1];
        return ["train", "encoder", .. options.SelectMany(o => new[] { o.Key, o.Value })];
    }

    [Fact]
    public void WritesTheEncoderItsReportAndTheModelCardSection()
    {
        string card = Path.Combine(_dir, "MODEL_CARD.md");
        File.WriteAllText(card, "# tiny\n\n## Generator\n\nAbout it.\n");
        var first = CliHarness.Run(Args());
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("Trained on 64 samples", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("Held-out generated samples (64): w error", first.Stdout, StringComparison.Ordinal);

        string hash = GeneratorWeights.Load(_weights).ContentHash;
        var encoder = EncoderWeights.Load(Path.Combine(_dir, "encoder.safetensors"));
        Assert.Equal(hash, encoder.Config.GeneratorSha256);
        Assert.Equal([4, 8], encoder.Config.Channels);
        using (var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "encoder.json"))))
        {
            Assert.Equal(hash, report.RootElement.GetProperty("generator_sha256").GetString());
            Assert.Equal(64, report.RootElement.GetProperty("samples").GetInt64());
            Assert.True(report.RootElement.GetProperty("evaluation").GetProperty("generated").GetProperty("psnr_db").GetDouble() > 0);
        }
        Assert.Contains("## Generator\n\nAbout it.\n", File.ReadAllText(card), StringComparison.Ordinal);

        var second = CliHarness.Run(Args("--seed", "1"));
        Assert.True(second.ExitCode == 0, second.ToString());
        string text = File.ReadAllText(card);
        Assert.Single(text.Split('\n'), l => l == TrainEncoderRun.CardSection);
        Assert.Contains("--seed 1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("--seed 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCardSectionIsReplacedUpToTheNextHeading()
    {
        string card = "# m\n\n## Encoder\n\nold\n\n## Later\n\nkept\n";
        Assert.Equal("# m\n\n## Encoder\nnew\n\n## Later\n\nkept\n", TrainEncoderRun.WithSection(card, "## Encoder\nnew\n"));
        Assert.Equal("# m\n\n## A\n\n## Encoder\nnew\n", TrainEncoderRun.WithSection("# m\n\n## A\n", "## Encoder\nnew\n"));
    }

    [Theory]
    [InlineData("--samples", "0", "at least one sample")]
    [InlineData("--minutes", "0", "positive minutes")]
    [InlineData("--network-channels", "4,x", "give positive integers separated by commas")]
    [InlineData("--backend", "tpu", "--backend 'tpu'")]
    [InlineData("--fit", "stretch", "--fit 'stretch'")]
    public void BadOptionsAreUsageErrors(string option, string value, string expected)
    {
        var result = CliHarness.Run(Args(option, value));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFilesAreUsageErrors()
    {
        var missing = CliHarness.Run("train", "encoder", "--weights", Path.Combine(_dir, "none.safetensors"), "--out", Path.Combine(_dir, "e.safetensors"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no such file", missing.Stderr, StringComparison.Ordinal);
        var folder = CliHarness.Run("train", "encoder", "--weights", _weights, "--out", Path.Combine(_dir, "no", "e.safetensors"));
        Assert.Equal(2, folder.ExitCode);
        Assert.Contains("does not exist", folder.Stderr, StringComparison.Ordinal);
    }
}
