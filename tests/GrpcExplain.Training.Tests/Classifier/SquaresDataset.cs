using GrpcExplain.Training.Tests.Data;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Training.Tests.Classifier;

/// <summary>
/// A learnable folder dataset written by the test: 16x16 grey noise, and in the images of the positive
/// classes a bright 5x5 square somewhere; a small CNN with global pooling learns it in a few epochs.
/// </summary>
internal static class SquaresDataset
{
    /// <summary>ROOT/{train,val}/CLASS/i.png for each class folder; <paramref name="positive"/> says which classes have the square.</summary>
    public static string Write(SyntheticImages files, string[] classes, Func<string, bool> positive, int trainPerClass, int valPerClass, int seed = 1)
    {
        var rng = new Random(seed);
        foreach (var (split, count) in new[] { ("train", trainPerClass), ("val", valPerClass) })
            foreach (string c in classes)
                for (int i = 0; i < count; i++)
                {
                    using var image = new SixLabors.ImageSharp.Image<L8>(16, 16);
                    for (int y = 0; y < 16; y++)
                        for (int x = 0; x < 16; x++) image[x, y] = new L8((byte)rng.Next(0, 100));
                    if (positive(c))
                    {
                        int x0 = rng.Next(0, 12), y0 = rng.Next(0, 12);
                        for (int y = y0; y < y0 + 5; y++)
                            for (int x = x0; x < x0 + 5; x++) image[x, y] = new L8((byte)rng.Next(200, 256));
                    }
                    files.Save(image, "data", split, c, $"{i:D3}.png");
                }
        return Path.Combine(files.Root, "data");
    }
}
