using GrpcExplain.Cli.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Cli.Tests.IO;

public sealed class ImageFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("png-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(-1f, 0)]        // -127.5 + 128 = 0.5 → 0
    [InlineData(1f, 255)]       // 255.5 clamped
    [InlineData(0f, 128)]
    [InlineData(-0.0039f, 127)] // 127.50275 truncated, not rounded
    [InlineData(0.996f, 254)]   // 254.99 truncated
    [InlineData(-5f, 0)]
    [InlineData(7f, 255)]
    [InlineData(float.NaN, 0)]
    public void MapsAsGeneratePyDoes(float x, byte expected) => Assert.Equal(expected, ImageFiles.ToByte(x));

    [Fact]
    public void InterleavesChannels()
    {
        // [C=3, H=1, W=2]: red plane, green plane, blue plane.
        float[] chw = [-1f, 1f, 0f, 0f, 1f, -1f];
        Assert.Equal([0, 128, 255, 255, 128, 0], ImageFiles.ToInterleavedBytes(chw, 3, 1, 2));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void WritesPngsThatReadBackExactly(int channels)
    {
        var bytes = Enumerable.Range(0, 5 * 4 * channels).Select(i => (byte)(i * 7)).ToArray();
        var path = Path.Combine(_dir, "x.png");
        ImageFiles.WritePng(path, bytes, channels, height: 5, width: 4);
        using var image = Image.Load<Rgba32>(path);
        Assert.Equal((4, 5), (image.Width, image.Height));
        var p = image[1, 2]; // x 1, y 2
        int o = (2 * 4 + 1) * channels;
        Assert.Equal(channels == 1 ? (bytes[o], bytes[o], bytes[o]) : (bytes[o], bytes[o + 1], bytes[o + 2]), (p.R, p.G, p.B));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(4, 2, 2)]
    [InlineData(5, 3, 2)]
    [InlineData(8, 3, 3)]
    [InlineData(10, 4, 3)]
    public void GridIsNearSquare(int count, int columns, int rows)
    {
        var grid = new ImageGrid(count, channels: 1, height: 2, width: 3);
        Assert.Equal((columns, rows), (grid.Columns, grid.Rows));
        Assert.Equal((columns * 3, rows * 2), (grid.Width, grid.Height));
    }

    [Fact]
    public void GridPlacesImagesRowByRow()
    {
        var grid = new ImageGrid(3, channels: 1, height: 1, width: 2);
        grid.Place(0, [1, 2]);
        grid.Place(1, [3, 4]);
        grid.Place(2, [5, 6]);
        var path = Path.Combine(_dir, "grid.png");
        grid.WritePng(path);
        using var image = Image.Load<L8>(path);
        Assert.Equal((4, 2), (image.Width, image.Height));
        Assert.Equal([1, 2, 3, 4, 5, 6, 0, 0], Enumerable.Range(0, 8).Select(i => image[i % 4, i / 4].PackedValue));
    }
}
