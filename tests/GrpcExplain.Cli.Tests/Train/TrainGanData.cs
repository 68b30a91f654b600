using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.Train;

/// <summary>A tiny image folder (train/0, train/1, val/0 of 12x12 grey PNGs), written once per test class.</summary>
public sealed class TrainGanData : IDisposable
{
    public TrainGanData()
    {
        Dir = Directory.CreateTempSubdirectory("cli-train-gan-").FullName;
        Data = Path.Combine(Dir, "data");
        var random = new Random(5);
        foreach (var (split, cls, count) in new[] { ("train", "0", 6), ("train", "1", 6), ("val", "0", 4) })
        {
            string folder = Path.Combine(Data, split, cls);
            Directory.CreateDirectory(folder);
            for (int i = 0; i < count; i++)
            {
                using var image = new Image<L8>(12, 12);
                for (int y = 0; y < 12; y++)
                    for (int x = 0; x < 12; x++) image[x, y] = new L8((byte)(cls == "0" ? 20 * x + random.Next(30) : 200 - 15 * y + random.Next(30)));
                image.SaveAsPng(Path.Combine(folder, $"{i}.png"));
            }
        }
        File.WriteAllText(Path.Combine(Dir, "notes.txt"), "not a dataset");
    }

    public string Dir { get; }

    public string Data { get; }

    /// <summary>A fresh run folder name.</summary>
    public string NewRun() => Path.Combine(Dir, "run-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>An 8x8 network small enough that a minibatch takes milliseconds.</summary>
    public string[] Tiny(string run, params string[] more) =>
        ["train", "gan", "--data", Data, "--out", run, "--resolution", "8", "--channel-base", "64", "--channel-max", "8",
         "--z-dim", "8", "--w-dim", "8", "--mapping-layers", "2", "--batch", "4", "--backend", "cpu", .. more];

    /// <summary>The generator.safetensors of a new two-minibatch tiny run (what --warm-start starts from), with the given channel_max.</summary>
    public string TrainedGenerator(int channelMax = 8)
    {
        string run = NewRun();
        var line = Tiny(run, "--kimg", "0.008", "--fid-images", "0");
        line[Array.IndexOf(line, "--channel-max") + 1] = channelMax.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = CliHarness.Run(line);
        Assert.True(result.ExitCode == 0, result.ToString());
        return Path.Combine(run, "generator.safetensors");
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
