using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Classifiers.Tests.Reference;

/// <summary>Image files as they come, fitted as a model's config says (<see cref="InputImages"/>).</summary>
public class InputImagesTests
{
    private static ClassifierConfig Model(int channels, int size, ImageFit fit) => new()
    {
        Input = new InputConfig { Name = "image", Channels = channels, Height = size, Width = size },
        Output = new OutputConfig { Name = "logits" },
        ClassLabels = ["a", "b"],
        Fit = fit,
    };

    [Fact]
    public void CenterCropTakesTheCentralPixelsUnresampled()
    {
        using var folder = new TempFolder();
        // 96x96 RGB, pixel (x, y) = (x, y, x + y): the centre 64x64 starts at (16, 16).
        using var image = new Image<Rgb24>(96, 96);
        for (int y = 0; y < 96; y++)
            for (int x = 0; x < 96; x++) image[x, y] = new Rgb24((byte)x, (byte)y, (byte)(x + y));
        string path = Path.Combine(folder.Path, "tile.png");
        image.SaveAsPng(path);
        var v = InputImages.Read(path, Model(3, 64, ImageFit.CenterCrop));
        Assert.Equal(3 * 64 * 64, v.Length);
        float Level(int c, int y, int x) => (v[(c * 64 + y) * 64 + x] + 1f) * 127.5f;
        Assert.Equal(16f, Level(0, 0, 0), 3);
        Assert.Equal(16f, Level(1, 0, 0), 3);
        Assert.Equal(16f + 63f, Level(0, 5, 63), 3);
        Assert.Equal(16f + 5f, Level(1, 5, 63), 3);
        Assert.Equal(32f + 68f, Level(2, 5, 63), 3);
    }

    [Fact]
    public void ResizeTakesTheLargestCentralSquareOfAnOddSizedImage()
    {
        using var folder = new TempFolder();
        // 100x70 grey: the outer 15 columns each side black, the central 70x70 white; resized to 32x32 it is all white.
        using var image = new Image<L8>(100, 70);
        for (int y = 0; y < 70; y++)
            for (int x = 15; x < 85; x++) image[x, y] = new L8(255);
        string path = Path.Combine(folder.Path, "wide.jpg");
        image.SaveAsPng(Path.ChangeExtension(path, ".png"));
        var v = InputImages.Read(Path.ChangeExtension(path, ".png"), Model(1, 32, ImageFit.Resize));
        Assert.Equal(32 * 32, v.Length);
        Assert.All(v, x => Assert.Equal(1f, x, 3));

        // The same as a JPEG, into an RGB model: grey repeated in all three planes (JPEG is lossy: close to white).
        image.Save(path, new JpegEncoder { Quality = 95 });
        var rgb = InputImages.Read(path, Model(3, 32, ImageFit.Resize));
        Assert.Equal(3 * 32 * 32, rgb.Length);
        Assert.Equal(rgb[..1024], rgb[1024..2048]);
        Assert.Equal(rgb[..1024], rgb[2048..]);
        Assert.InRange(rgb.Average(), 0.95f, 1.01f);
    }

    [Fact]
    public void ColourBecomesGreyByLuminance()
    {
        using var folder = new TempFolder();
        using var red = new Image<Rgb24>(8, 8, new Rgb24(255, 0, 0));
        string path = Path.Combine(folder.Path, "red.png");
        red.SaveAsPng(path);
        var v = InputImages.Read(path, Model(1, 8, ImageFit.CenterCrop));
        // BT.709: 0.2126 * 255 = 54.2 -> 54.
        Assert.All(v, x => Assert.Equal(54 / 127.5f - 1f, x, 5));
    }

    [Fact]
    public void FilesThatCannotBeUsedAreNamed()
    {
        using var folder = new TempFolder();
        string small = Path.Combine(folder.Path, "small.png");
        new Image<L8>(40, 80).SaveAsPng(small);
        var e = Assert.Throws<InvalidDataException>(() => InputImages.Read(small, Model(1, 64, ImageFit.CenterCrop)));
        Assert.Contains("small.png", e.Message);
        Assert.Contains("a 40x80 image is smaller than the model's 64x64 input", e.Message);
        Assert.Equal(64 * 64, InputImages.Read(small, Model(1, 64, ImageFit.Resize)).Length);

        string corrupt = Path.Combine(folder.Path, "corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        Assert.Contains("corrupt.png: not a readable PNG or JPEG image", Assert.Throws<InvalidDataException>(() => InputImages.Read(corrupt, Model(1, 8, ImageFit.Resize))).Message);
        string text = Path.Combine(folder.Path, "notes.txt");
        File.WriteAllText(text, "not an image");
        Assert.Contains("notes.txt", Assert.Throws<InvalidDataException>(() => InputImages.Read(text, Model(1, 8, ImageFit.Resize))).Message);
        Assert.Throws<FileNotFoundException>(() => InputImages.Read(Path.Combine(folder.Path, "absent.png"), Model(1, 8, ImageFit.Resize)));
    }
}
