using GrpcExplain.Kernels;
using GrpcExplain.Cli.IO;
using GrpcExplain.StyleGan.Latents;
using GrpcExplain.StyleGan.Weights;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.Synthesize;

/// <summary>
/// Whole runs on tiny random-weight generators: the files a user gets. They skip, saying why, while
/// Generator.Map/Synthesize are stubs, and run by themselves once the generator lands.
/// </summary>
public sealed class SynthesizeEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-e2e-").FullName;
    private readonly string _grey, _rgb;

    public SynthesizeEndToEndTests()
    {
        _grey = TinyGenerators.Save(TinyGenerators.Grey, Path.Combine(_dir, "grey.safetensors"));
        _rgb = TinyGenerators.Save(TinyGenerators.ConditionalRgb, Path.Combine(_dir, "rgb.safetensors"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CliResult Synthesize(string weights, string output, params string[] more)
    {
        var result = CliHarness.Run(["synthesize", "--weights", weights, "--out", output, "--backend", "cpu", .. more]);
        CliHarness.SkipWhileGeneratorIsAStub(result);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        return result;
    }

    [Fact]
    public void SeedsWriteRawImagesPngsAndAGrid()
    {
        var output = Path.Combine(_dir, "seeds");
        var result = Synthesize(_grey, output, "--seeds", "0-3,10", "--batch-size", "2");

        var images = Npy.Read(Path.Combine(output, "images.npy"));
        Assert.Equal([5, 1, 8, 8], images.Shape);
        Assert.All(images.Data, v => Assert.True(float.IsFinite(v)));
        string[] names = ["seed0000", "seed0001", "seed0002", "seed0003", "seed0010"];
        Assert.Equal(["grid.png", "images.npy", .. names.Select(n => n + ".png")],
            Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        for (int i = 0; i < names.Length; i++)
        {
            using var png = Image.Load<L8>(Path.Combine(output, names[i] + ".png"));
            Assert.Equal((8, 8), (png.Width, png.Height));
            // Each pixel is the raw output mapped as generate.py maps it.
            Assert.Equal(ImageFiles.ToByte(images.Data[i * 64 + 3 * 8 + 5]), png[5, 3].PackedValue);
        }
        using var grid = Image.Load<L8>(Path.Combine(output, "grid.png"));
        Assert.Equal((24, 16), (grid.Width, grid.Height)); // 3 columns, 2 rows of 8x8
        Assert.Contains("backend    cpu on ", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("seeds 0-3,10", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void SeedsAndTheirZAsNpyGiveTheSameImages()
    {
        Synthesize(_grey, Path.Combine(_dir, "a"), "--seeds", "3,5", "--truncation", "0.7");
        var zPath = Path.Combine(_dir, "z.npy");
        Npy.Write(zPath, new HostTensor([2, 8], SeededLatents.Z([3, 5], 8)));
        Synthesize(_grey, Path.Combine(_dir, "b"), "--latents", zPath, "--truncation", "0.7", "--batch-size", "1");
        Assert.Equal(Npy.Read(Path.Combine(_dir, "a", "images.npy")).Data, Npy.Read(Path.Combine(_dir, "b", "images.npy")).Data);
        Assert.True(File.Exists(Path.Combine(_dir, "b", "latent0001.png")));
    }

    [Fact]
    public void ConditionalRgbFromZWithAClass()
    {
        var zPath = Path.Combine(_dir, "z6.npy");
        Npy.Write(zPath, new HostTensor([3, 6], [.. Enumerable.Range(0, 18).Select(i => MathF.Sin(i))]));
        var output = Path.Combine(_dir, "cond");
        Synthesize(_rgb, output, "--latents", zPath, "--class", "1");
        Assert.Equal([3, 3, 16, 16], Npy.Read(Path.Combine(output, "images.npy")).Shape);
        using var png = Image.Load<Rgb24>(Path.Combine(output, "latent0002.png"));
        Assert.Equal((16, 16), (png.Width, png.Height));
        using var grid = Image.Load<Rgb24>(Path.Combine(output, "grid.png"));
        Assert.Equal((32, 32), (grid.Width, grid.Height));
    }

    [Fact]
    public void WAndWPlusLatentsWithTruncationAndEveryNoiseMode()
    {
        var wPath = Path.Combine(_dir, "w.npy");
        Npy.Write(wPath, new HostTensor([2, 5], [.. Enumerable.Range(0, 10).Select(i => MathF.Cos(i))]));
        var wPlusPath = Path.Combine(_dir, "wplus.npy");
        Npy.Write(wPlusPath, new HostTensor([2, 6, 5], WTruncation.Broadcast([.. Enumerable.Range(0, 10).Select(i => MathF.Cos(i))], 2, 6, 5)));

        Synthesize(_rgb, Path.Combine(_dir, "w"), "--latents", wPath, "--latent-space", "w", "--truncation", "0.5", "--truncation-cutoff", "2");
        Synthesize(_rgb, Path.Combine(_dir, "wplus"), "--latents", wPlusPath, "--truncation", "0.5", "--truncation-cutoff", "2");
        // One w per sample and the same w repeated per layer are the same latent.
        Assert.Equal(Npy.Read(Path.Combine(_dir, "w", "images.npy")).Data, Npy.Read(Path.Combine(_dir, "wplus", "images.npy")).Data);

        foreach (var noise in new[] { "none", "random" })
        {
            var output = Path.Combine(_dir, noise);
            Synthesize(_rgb, output, "--latents", wPlusPath, "--noise-mode", noise, "--noise-seed", "7");
            Assert.Equal([2, 3, 16, 16], Npy.Read(Path.Combine(output, "images.npy")).Shape);
        }
    }

    [Fact]
    public void ARerunReplacesFilesWhole()
    {
        var output = Path.Combine(_dir, "again");
        Synthesize(_grey, output, "--seeds", "1");
        Synthesize(_grey, output, "--seeds", "1");
        Assert.Equal(["grid.png", "images.npy", "seed0001.png"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AnInterruptedRunKeepsEarlierFilesAndLeavesNoTemporaries()
    {
        var output = Path.Combine(_dir, "interrupted");
        Synthesize(_grey, output, "--seeds", "1");
        var before = File.ReadAllBytes(Path.Combine(output, "images.npy"));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = CliApp.Run(["synthesize", "--weights", _grey, "--out", output, "--seeds", "1-4", "--backend", "cpu"], stdout, stderr,
            cancellation: new CancellationToken(canceled: true));
        Assert.Equal(130, code);
        Assert.Contains("interrupted", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(output, "images.npy")));
        Assert.Empty(Directory.GetFiles(output, "*.tmp"));
    }
}
