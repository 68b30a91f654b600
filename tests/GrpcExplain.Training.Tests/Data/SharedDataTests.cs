using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Tests.Data;

/// <summary>
/// The real sets in ../shared/data (beside the repository; never copied into it), checked against the
/// numbers its README gives. Skipped, saying where it looked, when the folder is absent.
/// </summary>
public sealed class SharedDataTests
{
    private static readonly Lazy<string?> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GrpcExplain.sln")))
            {
                string data = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
                return Directory.Exists(data) ? data : null;
            }
        }
        return null;
    });

    private static string Data(string set)
    {
        string? root = Root.Value;
        Assert.SkipWhen(root is null, "../shared/data (beside the repository root) is absent: the real datasets are not on this machine.");
        string path = Path.Combine(root!, set);
        Assert.SkipUnless(Path.Exists(path), $"{path} is absent.");
        return path;
    }

    [Fact]
    public void PcamCountsMatchTheReadmeAndImagesCropToTheCentre()
    {
        string pcam = Data("pcam");
        var train = ImageFolderDataset.Open(pcam, "train");
        var val = ImageFolderDataset.Open(pcam, "val");
        Assert.Equal((19_171, 2_907), (train.Count, val.Count));
        Assert.Equal(["0", "1"], train.Classes);
        // Near-balanced after removing duplicates.
        Assert.All(train.CountPerClass(), c => Assert.InRange(c, 0.4 * train.Count, 0.6 * train.Count));
        using var image = train.LoadImage(0);
        Assert.Equal((96, 96), (image.Width, image.Height));
        Assert.Equal(3 * 64 * 64, Preprocess.ToPlanes(image, new PreprocessOptions(64, 3, CropMode.CenterCrop)).Length);
    }

    [Fact]
    public void KneeCountsMatchTheReadmeAndKl2OrMoreIsClassOne()
    {
        string knee = Data("knee-kl");
        var train = ImageFolderDataset.Open(knee, "train", LabelMapping.AtLeast(2));
        var val = ImageFolderDataset.Open(knee, "val", LabelMapping.AtLeast(2));
        Assert.Equal((5_778, 826), (train.Count, val.Count));
        Assert.Equal(["0", "1", "2", "3", "4"], train.Classes);
        int[] perGrade = train.CountPerClass();
        Assert.Equal(173, perGrade[4]);
        int ones = Enumerable.Range(0, train.Count).Count(i => train.Label(i) == 1);
        Assert.Equal(perGrade[2] + perGrade[3] + perGrade[4], ones);
        using var image = train.LoadImage(0);
        Assert.Equal((128, 128, 8), (image.Width, image.Height, image.PixelType.BitsPerPixel));
    }

    [Fact]
    public void PneumoniaMnistCountsMatchTheReadme()
    {
        string npz = Data(Path.Combine("pneumoniamnist", "pneumoniamnist_trainval.npz"));
        var train = NpzDataset.Open(npz, "train");
        var val = NpzDataset.Open(npz, "val");
        Assert.Equal((4_708, 524), (train.Count, val.Count));
        Assert.Equal((28, 28, 1), (train.Height, train.Width, train.Channels));
        Assert.Equal(["0", "1"], train.Classes);
    }
}
