using GrpcExplain.Training.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Training.Tests.Data;

public sealed class PreprocessTests
{
    [Fact]
    public void CenterCropTakesTheCentralPixelsUnchanged()
    {
        using var image = SyntheticImages.Grey(9, 8, seed: 3);
        byte[] planes = Preprocess.ToPlanes(image, new PreprocessOptions(4, 1, CropMode.CenterCrop));
        // Offsets floor((9-4)/2) = 2 and floor((8-4)/2) = 2.
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
                Assert.Equal(image[x + 2, y + 2].PackedValue, planes[y * 4 + x]);
    }

    [Fact]
    public void CenterCropOfRgbGivesChannelPlanes()
    {
        using var image = SyntheticImages.Rgb(7, 7);
        byte[] planes = Preprocess.ToPlanes(image, new PreprocessOptions(3, 3, CropMode.CenterCrop));
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++)
            {
                var p = image[x + 2, y + 2];
                Assert.Equal((p.R, p.G, p.B), (planes[y * 3 + x], planes[9 + y * 3 + x], planes[18 + y * 3 + x]));
            }
    }

    [Fact]
    public void CenterCropRefusesSmallImages()
    {
        using var image = SyntheticImages.Grey(5, 9);
        var e = Assert.Throws<InvalidDataException>(() => Preprocess.ToPlanes(image, new PreprocessOptions(6, 1, CropMode.CenterCrop)));
        Assert.Contains("5x9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResizeKeepsAConstantImageAndCropsToTheCentralSquareFirst()
    {
        // Left and right thirds black, central square white: resizing the central square gives all white.
        using var image = new Image<L8>(30, 10);
        for (int y = 0; y < 10; y++)
            for (int x = 10; x < 20; x++)
                image[x, y] = new L8(255);
        byte[] planes = Preprocess.ToPlanes(image, new PreprocessOptions(4, 1, CropMode.Resize));
        Assert.All(planes, v => Assert.Equal(255, v));
        Assert.All(Preprocess.ToPlanes(image, new PreprocessOptions(17, 1, CropMode.Resize)), v => Assert.Equal(255, v));
    }

    [Fact]
    public void ResizeAtTheSameSizeIsExact()
    {
        using var image = SyntheticImages.Grey(6, 6, seed: 9);
        byte[] planes = Preprocess.ToPlanes(image, new PreprocessOptions(6, 1, CropMode.Resize));
        Assert.Equal(image[5, 4].PackedValue, planes[4 * 6 + 5]);
    }

    [Fact]
    public void GreyToRgbRepeatsAndRgbToGreyIsLuminance()
    {
        using var grey = SyntheticImages.Grey(4, 4, seed: 1);
        byte[] rgb = Preprocess.ToPlanes(grey, new PreprocessOptions(4, 3, CropMode.CenterCrop));
        Assert.Equal(rgb[..16], rgb[16..32]);
        Assert.Equal(rgb[..16], rgb[32..]);
        Assert.Equal(grey[1, 2].PackedValue, rgb[2 * 4 + 1]);

        using var colour = new Image<Rgb24>(2, 2, new Rgb24(200, 100, 50));
        byte[] luminance = Preprocess.ToPlanes(colour, new PreprocessOptions(2, 1, CropMode.CenterCrop));
        double bt709 = 0.2126 * 200 + 0.7152 * 100 + 0.0722 * 50;
        Assert.All(luminance, v => Assert.InRange(v, bt709 - 1, bt709 + 1));
    }

    [Fact]
    public void FloatsAreInMinusOneToOneAndRoundTrip()
    {
        byte[] bytes = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        var floats = new float[256];
        Preprocess.ToFloat(bytes, floats);
        Assert.Equal(-1f, floats[0]);
        Assert.Equal(1f, floats[255]);
        var back = new byte[256];
        Preprocess.ToBytes(floats, back);
        Assert.Equal(bytes, back);
        Preprocess.ToBytes([-3f, 2f, float.NaN], back.AsSpan(0, 3));
        Assert.Equal([0, 255, 0], back[..3]);
    }

    [Fact]
    public void OptionsRefuseOtherChannelCounts()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PreprocessOptions(8, 2, CropMode.Resize));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PreprocessOptions(0, 1, CropMode.Resize));
    }
}
