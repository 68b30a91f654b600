using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.Train;

/// <summary>
/// <c>grpcexplain train classifier</c> end to end on a tiny learnable folder (16x16 grey, class 1 has a
/// bright square), then <c>classify</c> on what it exported; resuming, and command lines it refuses.
/// </summary>
public sealed class TrainClassifierTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-train-classifier-").FullName;
    private readonly string _data;

    public TrainClassifierTests()
    {
        _data = Path.Combine(_dir, "data");
        var rng = new Random(2);
        foreach (var (split, count) in new[] { ("train", 16), ("val", 4) })
            foreach (string c in new[] { "0", "1" })
            {
                Directory.CreateDirectory(Path.Combine(_data, split, c));
                for (int i = 0; i < count; i++)
                {
                    using var image = new Image<L8>(20, 16);
                    for (int y = 0; y < 16; y++)
                        for (int x = 0; x < 20; x++) image[x, y] = new L8((byte)rng.Next(80));
                    if (c == "1")
                        for (int y = 4; y < 9; y++)
                            for (int x = 6; x < 11; x++) image[x, y] = new L8(240);
                    image.SaveAsPng(Path.Combine(_data, split, c, $"{i}.png"));
                }
            }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A tiny network's command line; options in <paramref name="more"/> replace the defaults of the same name.</summary>
    private string[] Tiny(string run, params string[] more)
    {
        string[] defaults = ["--resolution", "16", "--network-channels", "4,8", "--batch", "8", "--lr", "0.01", "--backend", "cpu"];
        var kept = defaults.Chunk(2).Where(pair => !more.Contains(pair[0])).SelectMany(pair => pair);
        return ["train", "classifier", "--data", _data, "--out", Path.Combine(_dir, "repo"), "--name", "squares", "--run", run, .. kept, .. more];
    }

    [Fact]
    public void TrainsExportsAndResumesAndTheExportClassifies()
    {
        string run = Path.Combine(_dir, "run");
        var first = CliHarness.Run(Tiny(run, "--epochs", "2"));
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("16x16 grey, resize, flip-translate augmentation", first.Stdout);
        Assert.Contains("32 train and 8 validation images, classes 0, 1.", first.Stdout);
        Assert.Contains("epoch 1/2: ", first.Stdout);
        Assert.Matches(@"epoch 2/2: \d+ img/s, lr [0-9.e-]+, train loss [0-9.]+ acc [0-9.]+ \| val loss [0-9.]+ acc [0-9.]+ AUC [0-9.]+", first.Stdout);
        string model = Path.Combine(_dir, "repo", "squares");
        Assert.Contains($"Exported: {model}", first.Stdout);
        foreach (string file in new[] { "1/model.onnx", "classifier.json", "reference.safetensors", "metrics.json" })
            Assert.True(File.Exists(Path.Combine(model, file)), file);

        var resumed = CliHarness.Run(Tiny(run, "--epochs", "3"));
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("Resuming after epoch 2", resumed.Stdout);
        Assert.DoesNotContain("epoch 2/3", resumed.Stdout);
        Assert.Contains("epoch 3/3: ", resumed.Stdout);

        string image = Path.Combine(_data, "val", "1", "0.png");
        var classified = CliHarness.Run("classify", "--model-repository", Path.Combine(_dir, "repo"), "--model", "squares", image);
        Assert.True(classified.ExitCode == 0, classified.ToString());
        using var line = JsonDocument.Parse(classified.Stdout);
        Assert.Equal(image, line.RootElement.GetProperty("path").GetString());
        Assert.Equal(2, line.RootElement.GetProperty("probabilities").GetArrayLength());
    }

    [Fact]
    public void AnotherConfigInTheSameRunFolderIsRefused()
    {
        string run = Path.Combine(_dir, "run");
        Assert.Equal(0, CliHarness.Run(Tiny(run, "--epochs", "1")).ExitCode);
        var other = CliHarness.Run(Tiny(run, "--epochs", "2", "--seed", "5"));
        Assert.Equal(2, other.ExitCode);
        Assert.Contains("was trained with another configuration", other.Stderr);
        Assert.Contains("\"seed\": 5", other.Stderr);
    }

    [Theory]
    [InlineData("--fit", "stretch", "--fit 'stretch': choose center_crop or resize")]
    [InlineData("--labels", "grades", "--labels 'grades': choose folders or binary-kl2")]
    [InlineData("--channels", "2", "--channels must be 1 (grey) or 3 (RGB), got 2")]
    [InlineData("--augment", "rotate", "--augment 'rotate'")]
    [InlineData("--network-channels", "4,x", "--network-channels '4,x'")]
    [InlineData("--resolution", "15", "divisible by 2^1 = 2")]
    [InlineData("--epochs", "0", "epochs must be at least 1")]
    [InlineData("--class-names", "only", "class names must be at least two")]
    [InlineData("--backend", "tpu", "--backend 'tpu'")]
    public void BadOptionsAreUsageErrors(string option, string value, string message)
    {
        var result = CliHarness.Run(Tiny(Path.Combine(_dir, "run"), option, value));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }

    [Fact]
    public void MissingDataIsAUsageError()
    {
        var result = CliHarness.Run("train", "classifier", "--data", Path.Combine(_dir, "nothing"), "--out", _dir, "--name", "x");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no such folder or .npz file", result.Stderr);
        Assert.Equal(2, CliHarness.Run("train", "classifier", "--data", _data, "--out", _dir, "--name", "a/b").ExitCode);
    }
}
