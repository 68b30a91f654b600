using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Tests.Data;

public sealed class ImageFolderDatasetTests : IDisposable
{
    private readonly SyntheticImages _images = new();

    public void Dispose() => _images.Dispose();

    private void WriteKneeLike()
    {
        // Classes "0".."4" and "10" sort as strings ("10" before "2"), files by name within each.
        foreach (var (cls, n) in new[] { ("2", 2), ("0", 3), ("10", 1), ("4", 1) })
            for (int i = 0; i < n; i++)
            {
                using var image = SyntheticImages.Grey(9 + i, 7, seed: i);
                _images.Save(image, "train", cls, $"img{(char)('c' - i)}.png");
            }
        File.WriteAllText(Path.Combine(_images.Root, "train", "0", "notes.txt"), "not an image");
        using var rgb = SyntheticImages.Rgb(5, 6);
        _images.Save(rgb, "val", "0", "x.JPG");
    }

    [Fact]
    public void ListsClassesSortedByNameAndFilesByNameWithinEachClass()
    {
        WriteKneeLike();
        var ds = ImageFolderDataset.Open(_images.Root, "train");
        Assert.Equal(["0", "10", "2", "4"], ds.Classes);
        Assert.Equal(7, ds.Count);
        Assert.Equal([3, 1, 2, 1], ds.CountPerClass());
        string[] names = [.. Enumerable.Range(0, ds.Count).Select(i => Path.GetRelativePath(ds.Source, ds.FilePath(i)).Replace('\\', '/'))];
        Assert.Equal(["0/imga.png", "0/imgb.png", "0/imgc.png", "10/imgc.png", "2/imgb.png", "2/imgc.png", "4/imgc.png"], names);
        Assert.Equal([0, 0, 0, 1, 2, 2, 3], Enumerable.Range(0, ds.Count).Select(ds.Label));
        Assert.Equal(4, ds.LabelCount);
        using var first = ds.LoadImage(0);
        Assert.Equal((11, 7), (first.Width, first.Height));
    }

    [Fact]
    public void AtLeastMappingMakesTheKneeTaskBinary()
    {
        WriteKneeLike();
        var ds = ImageFolderDataset.Open(_images.Root, "train", LabelMapping.AtLeast(2));
        Assert.Equal(2, ds.LabelCount);
        Assert.Equal([0, 0, 0, 1, 1, 1, 1], Enumerable.Range(0, ds.Count).Select(ds.Label));
        Assert.Equal([0, 0, 0, 1, 2, 2, 3], Enumerable.Range(0, ds.Count).Select(ds.ClassIndex));
        Assert.NotEqual(ImageFolderDataset.Open(_images.Root, "train").ListingHash, ds.ListingHash);
    }

    [Fact]
    public void ExplicitMappingAndItsErrors()
    {
        WriteKneeLike();
        var ds = ImageFolderDataset.Open(_images.Root, "train", LabelMapping.Explicit(new Dictionary<string, int> { ["0"] = 1, ["10"] = 0, ["2"] = 0, ["4"] = 1 }));
        Assert.Equal([1, 1, 1, 0, 0, 0, 1], Enumerable.Range(0, ds.Count).Select(ds.Label));
        var missing = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_images.Root, "train", LabelMapping.Explicit(new Dictionary<string, int> { ["0"] = 0 })));
        Assert.Contains("class '10'", missing.Message, StringComparison.Ordinal);
        var gap = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_images.Root, "train", LabelMapping.Explicit(new Dictionary<string, int> { ["0"] = 0, ["10"] = 2, ["2"] = 2, ["4"] = 2 })));
        Assert.Contains("0 .. k-1", gap.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AtLeastRefusesClassNamesThatAreNotNumbers()
    {
        using var image = SyntheticImages.Grey(4, 4);
        _images.Save(image, "train", "cat", "a.png");
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_images.Root, "train", LabelMapping.AtLeast(1)));
        Assert.Contains("'cat' is not a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadsJpegWithUpperCaseEnding()
    {
        WriteKneeLike();
        var ds = ImageFolderDataset.Open(_images.Root, "val");
        using var image = ds.LoadImage(0);
        Assert.Equal((5, 6), (image.Width, image.Height));
        Assert.Equal(24, image.PixelType.BitsPerPixel);
    }

    [Fact]
    public void MissingFoldersAndEmptyClassesSayWhatIsWrong()
    {
        Assert.Throws<DirectoryNotFoundException>(() => ImageFolderDataset.Open(_images.Root, "train"));
        Directory.CreateDirectory(Path.Combine(_images.Root, "train"));
        Assert.Contains("no class folders", Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_images.Root, "train")).Message, StringComparison.Ordinal);
        Directory.CreateDirectory(Path.Combine(_images.Root, "train", "0"));
        Assert.Contains("hold no", Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(_images.Root, "train")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ListingHashFollowsFilesAndTheirTimes()
    {
        WriteKneeLike();
        string before = ImageFolderDataset.Open(_images.Root, "train").ListingHash;
        Assert.Equal(before, ImageFolderDataset.Open(_images.Root, "train").ListingHash);
        File.SetLastWriteTimeUtc(Path.Combine(_images.Root, "train", "0", "imga.png"), new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.NotEqual(before, ImageFolderDataset.Open(_images.Root, "train").ListingHash);
    }
}
