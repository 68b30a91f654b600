using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Tests.Data;

public sealed class PackedCacheTests : IDisposable
{
    private static readonly PreprocessOptions Grey4 = new(4, 1, CropMode.CenterCrop);
    private readonly SyntheticImages _images = new();

    public PackedCacheTests()
    {
        for (int i = 0; i < 6; i++)
        {
            using var image = SyntheticImages.Rgb(6 + i % 2, 6, seed: 20 * i);
            _images.Save(image, "data", "train", (i % 2).ToString(System.Globalization.CultureInfo.InvariantCulture), $"{i}.{(i < 3 ? "png" : "jpg")}");
        }
    }

    public void Dispose() => _images.Dispose();

    private string CachePath => Path.Combine(_images.Root, "cache", "train.pack");

    private ImageFolderDataset Dataset(LabelMapping? mapping = null) => ImageFolderDataset.Open(Path.Combine(_images.Root, "data"), "train", mapping);

    private static PackedCache Open(IImageDataset dataset, PreprocessOptions options, string path, IProgress<PackedCacheProgress>? progress = null) =>
        PackedCache.OpenOrBuild(dataset, options, path, progress, TestContext.Current.CancellationToken);

    private sealed class Recorder : IProgress<PackedCacheProgress>
    {
        public List<PackedCacheProgress> Reports { get; } = [];

        public Action<PackedCacheProgress>? OnReport { get; init; }

        public void Report(PackedCacheProgress value)
        {
            Reports.Add(value);
            OnReport?.Invoke(value);
        }
    }

    [Fact]
    public void BuildsOnceThenReadsTheSameBytes()
    {
        var ds = Dataset();
        var progress = new Recorder();
        var built = Open(ds, Grey4, CachePath, progress);
        Assert.True(built.WasRebuilt);
        Assert.Equal(new PackedCacheProgress(0, 6), progress.Reports[0]);
        Assert.Equal(new PackedCacheProgress(6, 6), progress.Reports[^1]);
        for (int i = 0; i < ds.Count; i++)
        {
            using var image = ds.LoadImage(i);
            Assert.Equal(Preprocess.ToPlanes(image, Grey4), built.Image(i).ToArray());
            Assert.Equal(ds.Label(i), built.Label(i));
        }

        var again = Open(ds, Grey4, CachePath, new Recorder());
        Assert.False(again.WasRebuilt);
        Assert.Equal(built.Labels, again.Labels);
        Assert.Equal(["0", "1"], again.Classes);
        for (int i = 0; i < ds.Count; i++) Assert.True(built.Image(i).SequenceEqual(again.Image(i)));
        Assert.Equal([CachePath], Directory.GetFiles(Path.GetDirectoryName(CachePath)!));
    }

    public static TheoryData<string> Changes => ["resolution", "channels", "crop", "mapping", "new file", "touched file", "other split source"];

    [Theory]
    [MemberData(nameof(Changes))]
    public void RebuildsWhenAnythingInTheKeyChanges(string change)
    {
        Open(Dataset(), Grey4, CachePath);
        var options = Grey4;
        var mapping = LabelMapping.Identity;
        switch (change)
        {
            case "resolution": options = new PreprocessOptions(3, 1, CropMode.CenterCrop); break;
            case "channels": options = new PreprocessOptions(4, 3, CropMode.CenterCrop); break;
            case "crop": options = new PreprocessOptions(4, 1, CropMode.Resize); break;
            case "mapping": mapping = LabelMapping.Explicit(new Dictionary<string, int> { ["0"] = 1, ["1"] = 0 }); break;
            case "new file":
                using (var image = SyntheticImages.Rgb(6, 6, seed: 99)) _images.Save(image, "data", "train", "1", "z.png");
                break;
            case "touched file":
                File.SetLastWriteTimeUtc(Path.Combine(_images.Root, "data", "train", "0", "0.png"), DateTime.UtcNow.AddMinutes(-5));
                break;
            default:
                Directory.Move(Path.Combine(_images.Root, "data"), Path.Combine(_images.Root, "moved"));
                var moved = ImageFolderDataset.Open(Path.Combine(_images.Root, "moved"), "train");
                Assert.True(Open(moved, options, CachePath).WasRebuilt);
                return;
        }
        var ds = Dataset(mapping);
        var cache = Open(ds, options, CachePath);
        Assert.True(cache.WasRebuilt);
        Assert.Equal(ds.Count, cache.Count);
        Assert.Equal(options.ImageBytes, cache.ImageBytes);
        Assert.Equal(Enumerable.Range(0, ds.Count).Select(ds.Label), cache.Labels);
        Assert.False(Open(ds, options, CachePath).WasRebuilt);
    }

    [Fact]
    public void ADamagedFileIsRebuilt()
    {
        var ds = Dataset();
        Open(ds, Grey4, CachePath);
        byte[] whole = File.ReadAllBytes(CachePath);
        File.WriteAllBytes(CachePath, whole[..^5]);
        Assert.True(Open(ds, Grey4, CachePath).WasRebuilt);
        Assert.Equal(whole, File.ReadAllBytes(CachePath));
        File.WriteAllBytes(CachePath, [.. whole.Take(20)]);
        Assert.True(Open(ds, Grey4, CachePath).WasRebuilt);
        File.WriteAllText(CachePath, "garbage");
        Assert.True(Open(ds, Grey4, CachePath).WasRebuilt);
        Assert.Equal(whole, File.ReadAllBytes(CachePath));
    }

    [Fact]
    public void ABuildStoppedHalfWayLeavesThePreviousFileAndNoTemporary()
    {
        var ds = Dataset();
        Open(ds, Grey4, CachePath);
        byte[] before = File.ReadAllBytes(CachePath);
        using var cts = new CancellationTokenSource();
        var stopAtFirst = new Recorder { OnReport = p => { if (p.Done == 0) cts.Cancel(); } };
        var rgb = new PreprocessOptions(4, 3, CropMode.CenterCrop);
        Assert.ThrowsAny<OperationCanceledException>(() => PackedCache.OpenOrBuild(ds, rgb, CachePath, stopAtFirst, cts.Token));
        Assert.Equal(before, File.ReadAllBytes(CachePath));
        Assert.Equal([CachePath], Directory.GetFiles(Path.GetDirectoryName(CachePath)!));

        // A temporary left by a killed process is not the cache: it neither stops a build nor is read.
        File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(CachePath)!, ".train.pack.0123.tmp"), before[..10]);
        Assert.True(Open(ds, rgb, CachePath).WasRebuilt);
        Assert.False(Open(ds, rgb, CachePath).WasRebuilt);
    }

    [Fact]
    public void AnUnreadableImageNamesItsFileAndWritesNoCache()
    {
        string bad = Path.Combine(_images.Root, "data", "train", "1", "broken.png");
        File.WriteAllBytes(bad, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        var e = Assert.Throws<InvalidDataException>(() => Open(Dataset(), Grey4, CachePath));
        Assert.Contains(bad, e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.GetDirectoryName(CachePath)) && Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(CachePath)!).Any());
    }

    [Fact]
    public void FillBatchGivesFloatNchwInMinusOneToOne()
    {
        var ds = Dataset();
        var cache = Open(ds, new PreprocessOptions(4, 3, CropMode.CenterCrop), CachePath);
        var images = new float[2 * 48];
        var labels = new int[2];
        cache.FillBatch([5, 2], images, labels);
        Assert.Equal([1, 0], labels);
        Assert.Equal(cache.Image(2)[7] / 127.5f - 1f, images[48 + 7]);
        Assert.Equal(cache.Image(5)[47] / 127.5f - 1f, images[47]);
        Assert.All(images, v => Assert.InRange(v, -1f, 1f));
        Assert.Throws<ArgumentException>(() => cache.FillBatch([1], images, labels));
    }
}
