using GrpcExplain.Training.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Training.Tests.Data;

public sealed class NpzDatasetTests : IDisposable
{
    private readonly SyntheticImages _files = new();

    public void Dispose() => _files.Dispose();

    private static byte[] Pixels(int count) => [.. Enumerable.Range(0, count).Select(i => (byte)(i * 37 % 251))];

    [Fact]
    public void ReadsMedMnistLayoutGrey()
    {
        var pixels = Pixels(3 * 4 * 5);
        string path = _files.Npz("grey.npz",
            ("train_images", SyntheticImages.Npy("|u1", [3, 4, 5], pixels)),
            ("train_labels", SyntheticImages.Npy("<i8", [3, 1], SyntheticImages.Int64([1, 0, 1]))),
            ("val_images", SyntheticImages.Npy("|u1", [1, 4, 5], Pixels(20))),
            ("val_labels", SyntheticImages.Npy("<i8", [1, 1], SyntheticImages.Int64([0]))));
        var ds = NpzDataset.Open(path, "train");
        Assert.Equal((3, 4, 5, 1), (ds.Count, ds.Height, ds.Width, ds.Channels));
        Assert.Equal(["0", "1"], ds.Classes);
        Assert.Equal([1, 0, 1], Enumerable.Range(0, 3).Select(ds.Label));
        using var image = (Image<L8>)ds.LoadImage(2);
        Assert.Equal((5, 4), (image.Width, image.Height));
        Assert.Equal(pixels[2 * 20 + 1 * 5 + 3], image[3, 1].PackedValue);
        Assert.Equal(1, NpzDataset.Open(path, "val").Count);
    }

    [Fact]
    public void ReadsRgbAndUint8LabelsOfShapeN()
    {
        var pixels = Pixels(2 * 2 * 3 * 3);
        string path = _files.Npz("rgb.npz",
            ("train_images", SyntheticImages.Npy("|u1", [2, 2, 3, 3], pixels)),
            ("train_labels", SyntheticImages.Npy("|u1", [2], [2, 0])));
        var ds = NpzDataset.Open(path, "train", LabelMapping.AtLeast(1));
        Assert.Equal(3, ds.Channels);
        Assert.Equal(["0", "1", "2"], ds.Classes);
        Assert.Equal([1, 0], Enumerable.Range(0, 2).Select(ds.Label));
        using var image = (Image<Rgb24>)ds.LoadImage(1);
        int at = 18 + (1 * 3 + 2) * 3;
        Assert.Equal(new Rgb24(pixels[at], pixels[at + 1], pixels[at + 2]), image[2, 1]);
    }

    [Fact]
    public void ListingHashFollowsContentAndMapping()
    {
        string a = _files.Npz("a.npz", ("train_images", SyntheticImages.Npy("|u1", [2, 2, 2], Pixels(8))), ("train_labels", SyntheticImages.Npy("|u1", [2], [0, 1])));
        var changed = Pixels(8);
        changed[5]++;
        string b = _files.Npz("b.npz", ("train_images", SyntheticImages.Npy("|u1", [2, 2, 2], changed)), ("train_labels", SyntheticImages.Npy("|u1", [2], [0, 1])));
        Assert.NotEqual(NpzDataset.Open(a, "train").ListingHash, NpzDataset.Open(b, "train").ListingHash);
        Assert.NotEqual(NpzDataset.Open(a, "train").ListingHash, NpzDataset.Open(a, "train", LabelMapping.AtLeast(1)).ListingHash);
    }

    [Theory]
    [InlineData("missing", "no array 'train_labels'")]
    [InlineData("float", "not uint8")]
    [InlineData("count", "expected (2,) or (2, 1)")]
    [InlineData("fortran", "Fortran order")]
    [InlineData("truncated", "truncated")]
    public void RefusesWhatIsNotMedMnist(string what, string message)
    {
        var images = SyntheticImages.Npy("|u1", [2, 2, 2], Pixels(8));
        var labels = SyntheticImages.Npy("|u1", [2], [0, 1]);
        (string, byte[])[] arrays = what switch
        {
            "missing" => [("train_images", images)],
            "float" => [("train_images", SyntheticImages.Npy("<i8", [2, 2, 2], new byte[64])), ("train_labels", labels)],
            "count" => [("train_images", images), ("train_labels", SyntheticImages.Npy("|u1", [3], [0, 1, 1]))],
            "fortran" => [("train_images", System.Text.Encoding.Latin1.GetBytes(System.Text.Encoding.Latin1.GetString(images).Replace("False", "True ", StringComparison.Ordinal))), ("train_labels", labels)],
            _ => [("train_images", images[..^3]), ("train_labels", labels)],
        };
        string path = _files.Npz(what + ".npz", arrays);
        var e = Assert.Throws<InvalidDataException>(() => NpzDataset.Open(path, "train"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(Path.GetFullPath(path), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotAZipSaysSo()
    {
        string path = Path.Combine(_files.Root, "x.npz");
        File.WriteAllText(path, "hello");
        Assert.Contains("not a readable .npz", Assert.Throws<InvalidDataException>(() => NpzDataset.Open(path, "train")).Message, StringComparison.Ordinal);
    }
}
