using System.Text.Json;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.Classify;

/// <summary>
/// <c>grpcexplain classify</c> end to end on tiny exported reference CNNs: the printed probabilities are
/// our network's on the file as <see cref="InputImages"/> fits it, for grey, RGB and odd-size files.
/// </summary>
public sealed class ClassifyCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("grpcexplain-classify-").FullName;
    private readonly string _repository;
    private readonly ReferenceCnnWeights _rgb = ReferenceCnnWeights.Initialize(new ReferenceCnnConfig(16, 3, [4, 6], ["benign", "tumour", "other"]), 3);
    private readonly ReferenceCnnWeights _grey = ReferenceCnnWeights.Initialize(new ReferenceCnnConfig(16, 1, [4, 6], ["KL0-1", "KL2-4"]), 4);

    public ClassifyCommandTests()
    {
        _repository = Path.Combine(_root, "repo");
        ReferenceCnnExport.Write(_rgb, _repository, "tiles", ImageFit.CenterCrop);
        ReferenceCnnExport.Write(_grey, _repository, "knees", ImageFit.Resize);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Png(string name, Image image)
    {
        string path = Path.Combine(_root, name);
        if (name.EndsWith(".jpg", StringComparison.Ordinal)) image.Save(path, new JpegEncoder { Quality = 90 });
        else image.SaveAsPng(path);
        image.Dispose();
        return path;
    }

    private static Image<Rgb24> Colour(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var image = new Image<Rgb24>(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) image[x, y] = new Rgb24((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256));
        return image;
    }

    /// <summary>What our own network says of the file, fitted as the model's config says.</summary>
    private float[] Expected(ReferenceCnnWeights weights, string model, string path)
    {
        var config = ClassifierConfig.Load(Path.Combine(_repository, model, ClassifierConfig.FileName));
        using var backend = Backends.Create("cpu");
        using var net = new ReferenceCnn(backend, weights);
        return net.Probabilities(InputImages.Read(path, config), 1);
    }

    private static List<(string Path, float[] Probabilities)> Lines(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            Assert.Equal(["path", "probabilities"], doc.RootElement.EnumerateObject().Select(p => p.Name));
            return (doc.RootElement.GetProperty("path").GetString()!, doc.RootElement.GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        })];

    [Fact]
    public void EveryImageGetsOurNetworksProbabilitiesWhateverItsSizeAndColour()
    {
        string rgb = Png("tile.png", Colour(24, 24, 1));            // centre-cropped 24 -> 16
        string exact = Png("exact.png", Colour(16, 16, 2));         // already the input size
        string grey = Png("grey.png", new Image<L8>(20, 30, new L8(90)));  // grey into an RGB model, cropped
        string odd = Png("odd.jpg", Colour(33, 17, 3));             // odd size, JPEG

        var result = CliHarness.Run("classify", "--model-repository", _repository, "--model", "tiles", rgb, exact, grey, odd);
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = Lines(result.Stdout);
        Assert.Equal([rgb, exact, grey, odd], lines.Select(l => l.Path));
        foreach (var (path, p) in lines)
        {
            Assert.Equal(3, p.Length);
            Assert.Equal(1.0, p.Sum(), 5);
            var expected = Expected(_rgb, "tiles", path);
            for (int k = 0; k < 3; k++) Assert.Equal(expected[k], p[k], 5);
        }
        Assert.NotEqual(lines[0].Probabilities, lines[1].Probabilities);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public void AGreyModelResizesAndConvertsColour()
    {
        string big = Png("knee.png", Colour(128, 128, 4));
        string wide = Png("wide.png", Colour(50, 20, 5));
        var result = CliHarness.Run("classify", "--model-repository", _repository, "--model", "knees", big, wide);
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = Lines(result.Stdout);
        Assert.Equal(2, lines.Count);
        foreach (var (path, p) in lines)
        {
            var expected = Expected(_grey, "knees", path);
            Assert.Equal(expected[0], p[0], 5);
            Assert.Equal(expected[1], p[1], 5);
        }
    }

    [Fact]
    public void BadImagesAreNamedAndTheOthersStillPrinted()
    {
        string good = Png("good.png", Colour(16, 16, 6));
        string small = Png("small.png", Colour(8, 40, 7));
        string corrupt = Path.Combine(_root, "corrupt.jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 2]);
        string absent = Path.Combine(_root, "absent.png");
        var result = CliHarness.Run("classify", "--model-repository", _repository, "--model", "tiles", small, good, corrupt, absent);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal([good], Lines(result.Stdout).Select(l => l.Path));
        Assert.Contains($"{small}: a 8x40 image is smaller than the model's 16x16 input", result.Stderr);
        Assert.Contains($"{corrupt}: not a readable PNG or JPEG image", result.Stderr);
        Assert.Contains($"'{absent}': no such file", result.Stderr);
        Assert.Equal(3, result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void AMissingModelOrRepositoryIsAUsageError()
    {
        string image = Png("any.png", Colour(16, 16, 8));
        var missing = CliHarness.Run("classify", "--model-repository", _repository, "--model", "lungs", image);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--model 'lungs': no such model", missing.Stderr);
        Assert.Contains("it has knees, tiles", missing.Stderr);
        Assert.Equal("", missing.Stdout);

        var noRepository = CliHarness.Run("classify", "--model-repository", Path.Combine(_root, "nowhere"), "--model", "tiles", image);
        Assert.Equal(2, noRepository.ExitCode);
        Assert.Contains("no such folder", noRepository.Stderr);

        var version = CliHarness.Run("classify", "--model-repository", _repository, "--model", "tiles", "--model-version", "7", image);
        Assert.Equal(2, version.ExitCode);
        Assert.Contains("no version '7'", version.Stderr);

        Assert.Equal(2, CliHarness.Run("classify", "--model-repository", _repository, "--model", "tiles").ExitCode);

        // A model folder whose ONNX file is damaged does not load: said so, exit 1.
        File.WriteAllBytes(Path.Combine(_repository, "tiles", "1", "model.onnx"), [1, 2, 3]);
        var damaged = CliHarness.Run("classify", "--model-repository", _repository, "--model", "tiles", image);
        Assert.Equal(1, damaged.ExitCode);
        Assert.Contains("'tiles'", damaged.Stderr);
        Assert.Contains("did not load", damaged.Stderr);
    }
}
