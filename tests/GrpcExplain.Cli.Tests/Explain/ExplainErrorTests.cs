using GrpcExplain.Cli.Explain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>Wrong command lines: exit code 2 and one message that says what is wrong, before any file is written.</summary>
public sealed class ExplainErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-explain-errors-").FullName;
    private readonly string _models = ModelCatalog.FindRoot(null);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    public static TheoryData<string, string[], string> Cases => new()
    {
        { "no such image", ["$MISSING"], "IMAGE '" },
        { "one frame", ["$IMAGE", "--frames", "1"], "--frames must be from 2 to 256, got 1." },
        { "too many frames", ["$IMAGE", "--frames", "1000"], "--frames must be from 2 to 256" },
        { "no projection steps", ["$IMAGE", "--projection-steps", "0"], "--projection-steps must be from 1" },
        { "latent space", ["$IMAGE", "--latent-space", "z"], "--latent-space 'z': choose w or w+." },
        { "direction method", ["$IMAGE", "--direction", "steepest"], "--direction 'steepest': choose linear-probe, gradient or black-box." },
        { "gradient of a black box", ["$IMAGE", "--direction", "gradient"],
            "--direction gradient needs a white-box classifier, and 'synthetic_direction' is a black box (its folder " },
        { "negative alpha", ["$IMAGE", "--max-alpha", "-1"], "--max-alpha must be a positive number" },
        { "stop-at above 1", ["$IMAGE", "--stop-at", "1.5"], "--stop-at '1.5': give a probability above 0 and at most 1, or none." },
        { "negative target", ["$IMAGE", "--target", "-1"], "--target must be a class index of 0 or more" },
        { "unknown classifier", ["$IMAGE", "--classifier", "nope"], "--classifier 'nope': no such classifier; the bundled classifiers are histology/pcam_cnn, radiology/knee_kl2_cnn, synthetic-64/synthetic_direction." },
        { "unknown label", ["$IMAGE", "--target", "tumour"], "--target 'tumour': classifier 'synthetic_direction' has classes 0 (away), 1 (towards)." },
        { "class out of range", ["$IMAGE", "--target", "2"], "has classes 0 (away), 1 (towards)." },
        { "image too small to crop", ["$SMALL", "--fit", "crop"], "cannot be fitted to the generator's 64x64 images: a 32x32 image is smaller than the model's 64x64 input" },
        { "unknown fit", ["$IMAGE", "--fit", "stretch"], "--fit 'stretch': choose resize or crop." },
        { "not an image", ["$TEXT"], "is not a readable PNG or JPEG file" },
        { "out is a file", ["$IMAGE", "--out", "$TEXT"], "is a file; name a folder" },
        { "models folder missing", ["$IMAGE", "--models", "$MISSING"], "--models '" },
        { "bad backend", ["$IMAGE", "--backend", "tpu"], "--backend 'tpu': choose one of" },
        { "coordinator address", ["$IMAGE", "--coordinator", "http://"], "--coordinator 'http://' is not an address" },
        { "backend with a coordinator", ["$IMAGE", "--coordinator", "127.0.0.1:1", "--backend", "cpu"], "--backend applies to explanations in process" },
        { "label with a coordinator", ["$IMAGE", "--coordinator", "127.0.0.1:1", "--target", "towards"], "with --coordinator give the class index" },
        { "no classifier", ["$IMAGE", "--classifier"], "--classifier" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IsAUsageError(string name, string[] args, string message)
    {
        string image = Path.Combine(_dir, "image.png"), small = Path.Combine(_dir, "small.png"), text = Path.Combine(_dir, "text.png"), output = Path.Combine(_dir, "out-" + name.Replace(' ', '-'));
        File.Copy(Directory.GetFiles(Path.Combine(_models, "synthetic-64", "examples"), "*.png")[0], image, overwrite: true);
        using (var png = new Image<Rgb24>(32, 32)) png.SaveAsPng(small);
        File.WriteAllText(text, "not an image");
        string Resolve(string a) => a switch { "$IMAGE" => image, "$SMALL" => small, "$TEXT" => text, "$MISSING" => Path.Combine(_dir, "missing"), _ => a };
        string[] defaults = ["--classifier", "synthetic_direction", "--target", "1", "--out", output,
            .. args.Contains("--coordinator") ? [] : (string[])["--directions", Path.Combine(_dir, "d.db"), "--models", _models]];
        // Later options win in System.CommandLine only for the last value, so each case's own value goes after the defaults it overrides.
        var given = args.Select(Resolve).ToList();
        var full = new List<string> { "explain" };
        full.AddRange(given.Take(1));
        for (int i = 0; i < defaults.Length; i += 2)
            if (!given.Contains(defaults[i])) full.AddRange(defaults.Skip(i).Take(2));
        full.AddRange(given.Skip(1));

        var result = CliHarness.Run([.. full]);
        Assert.True(result.ExitCode == 2, $"{name}: {result}");
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories).Any(), $"{name}: files were written");
    }
}
