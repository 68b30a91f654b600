using GrpcExplain.StyleGan.Training.Augmentation;
using static GrpcExplain.StyleGan.Tests.Training.Augmentation.AugmentTestData;

namespace GrpcExplain.StyleGan.Tests.Training.Augmentation;

/// <summary>The pipe's forward: identity at p = 0, the geometry against a step-by-step reference, invertibility, determinism, argument checks.</summary>
public sealed class AugmentPipeTests
{
    private static readonly AugmentOptions GeometryOnly = new(Color: false);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void PZeroIsTheIdentity(int channels)
    {
        var x = Images(5, channels, 16, 1);
        var batch = new AugmentPipe(new AugmentOptions()) { P = 0 }.Apply(x, 5, channels, 16, seed: 7);
        Assert.Equal(x, batch.Images);
        Assert.NotSame(x, batch.Images);
        var g = Images(5, channels, 16, 2);
        Assert.Equal(g, batch.Backward(g));
    }

    [Fact]
    public void InputIsLeftUnchanged()
    {
        var x = Images(4, 3, 8, 1);
        var copy = (float[])x.Clone();
        new AugmentPipe(new AugmentOptions()) { P = 1 }.Apply(x, 4, 3, 8, seed: 3);
        Assert.Equal(copy, x);
    }

    /// <summary>Every sample's geometry equals the slow reference for its draw; P = 1 over 64 samples reaches every k, both flips and shifts that reflect.</summary>
    [Fact]
    public void GeometryMatchesStepByStepReference()
    {
        const int n = 64, channels = 2, size = 12;
        var x = Images(n, channels, size, 5);
        var batch = new AugmentPipe(GeometryOnly with { TranslationStd = 0.4 }) { P = 1 }.Apply(x, n, channels, size, seed: 11);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < channels; c++)
            {
                int offset = (i * channels + c) * size * size;
                var expected = ReferenceGeometry(Plane(x, offset, size), batch.Draws[i]);
                Assert.Equal(expected, Plane(batch.Images, offset, size));
            }
        Assert.Equal(4, batch.Draws.Select(d => d.Rotation).Distinct().Count());
        Assert.Contains(batch.Draws, d => d.XFlip);
        Assert.Contains(batch.Draws, d => Math.Abs(d.TranslateX) >= 3 && Math.Abs(d.TranslateY) >= 3);
    }

    /// <summary>The rotation's sense and the flip on a literal 3x3 image (numpy: rot90 of [[0,1,2],[3,4,5],[6,7,8]] is [[2,5,8],[1,4,7],[0,3,6]]).</summary>
    [Fact]
    public void QuarterTurnIsCounterClockwiseAndFlipMirrorsColumns()
    {
        float[] image = [0, 1, 2, 3, 4, 5, 6, 7, 8];
        Assert.Equal([2, 5, 8, 1, 4, 7, 0, 3, 6], Geometry(image, SampleDraw.Identity with { Rotation = 1 }));
        Assert.Equal([2, 1, 0, 5, 4, 3, 8, 7, 6], Geometry(image, SampleDraw.Identity with { XFlip = true }));
        // Shift right by one with reflect padding: column -1 reads column 1.
        Assert.Equal([1, 0, 1, 4, 3, 4, 7, 6, 7], Geometry(image, SampleDraw.Identity with { TranslateX = 1 }));
    }

    private static float[] Geometry(float[] image, SampleDraw d) => AugmentedBatch.Forward(image, [d], 1, 1, 3).Images;

    [Fact]
    public void FlipsAndRotationsAreInvertedExactly()
    {
        const int n = 32, size = 9;
        var x = Images(n, 3, size, 8);
        var batch = new AugmentPipe(GeometryOnly with { IntegerTranslation = false }) { P = 1 }.Apply(x, n, 3, size, seed: 4);
        Assert.NotEqual(x, batch.Images);
        var (back, recovered) = batch.InvertGeometry(batch.Images);
        Assert.All(recovered, Assert.True);
        Assert.Equal(x, back);
    }

    /// <summary>With translation the pixels shifted out of frame are lost; every other one comes back exactly.</summary>
    [Fact]
    public void TranslationsAreInvertedOnThePixelsStillInFrame()
    {
        const int n = 32, size = 16;
        var x = Images(n, 1, size, 9);
        var batch = new AugmentPipe(GeometryOnly) { P = 1 }.Apply(x, n, 1, size, seed: 6);
        var (back, recovered) = batch.InvertGeometry(batch.Images);
        for (int i = 0; i < n; i++)
        {
            var d = batch.Draws[i];
            int kept = (size - Math.Abs(d.TranslateX)) * (size - Math.Abs(d.TranslateY));
            Assert.True(recovered.Skip(i * size * size).Take(size * size).Count(r => r) >= kept, $"sample {i}: fewer than {kept} pixels recovered");
        }
        for (int j = 0; j < x.Length; j++)
            if (recovered[j]) Assert.Equal(x[j], back[j]);
        Assert.Contains(recovered, r => !r);
    }

    [Fact]
    public void DrawIsAPureFunctionOfTheSeed()
    {
        var x = Images(8, 3, 16, 1);
        var pipe = new AugmentPipe(new AugmentOptions()) { P = 0.7 };
        var a = pipe.Apply(x, 8, 3, 16, seed: 42);
        var b = new AugmentPipe(new AugmentOptions()) { P = 0.7 }.Apply(x, 8, 3, 16, seed: 42);
        Assert.Equal(a.Images, b.Images);
        Assert.Equal(a.Draws, b.Draws);
        var c = pipe.Apply(x, 8, 3, 16, seed: 43);
        Assert.NotEqual(a.Images, c.Images);
        Assert.NotEqual(a.Draws, c.Draws);
        // A sample's draw does not depend on the batch around it (resume with another batch size).
        var first = pipe.Apply(x.AsSpan(0, 3 * 16 * 16).ToArray(), 1, 3, 16, seed: 42);
        Assert.Equal(a.Draws[0], first.Draws[0]);
    }

    /// <summary>ADA's draw at P = 1 (loose bounds, fixed seed; 4000 samples give a standard error near 0.008 on a fraction).</summary>
    [Fact]
    public void DrawStatisticsAtPOne()
    {
        var draws = DrawMany(p: 1, n: 4000, size: 64);
        Assert.InRange(draws.Count(d => d.XFlip) / 4000.0, 0.46, 0.54);
        for (int k = 0; k < 4; k++) Assert.InRange(draws.Count(d => d.Rotation == k) / 4000.0, 0.22, 0.28);
        Assert.All(draws, d => Assert.InRange(d.TranslateX, -8, 8));
        Assert.All(draws, d => Assert.InRange(d.TranslateY, -8, 8));
        Assert.InRange(draws.Average(d => d.TranslateX), -0.4, 0.4);
        Assert.InRange(draws.Count(d => Math.Abs(d.TranslateY) == 8) / 4000.0, 0.05, 0.075); // uniform: each end is half a bin, 1/32 + 1/32
        Assert.InRange(Std(draws.Select(d => (double)d.Brightness)), 0.19, 0.21);
        Assert.InRange(Std(draws.Select(d => Math.Log2(d.Contrast))), 0.475, 0.525);
        Assert.InRange(Std(draws.Select(d => Math.Log2(d.Saturation))), 0.95, 1.05);
        Assert.InRange(draws.Average(d => Math.Log2(d.Contrast)), -0.03, 0.03);
    }

    /// <summary>At P = 0.5 each transform is applied to about half the samples, each on its own.</summary>
    [Fact]
    public void EachTransformIsAppliedWithProbabilityP()
    {
        var draws = DrawMany(p: 0.5, n: 4000, size: 64);
        Assert.InRange(draws.Count(d => d.XFlip) / 4000.0, 0.22, 0.28);          // applied 1/2, then flipped 1/2
        Assert.InRange(draws.Count(d => d.Rotation != 0) / 4000.0, 0.345, 0.405); // applied 1/2, then k != 0 3/4
        Assert.InRange(draws.Count(d => d.Brightness != 0) / 4000.0, 0.47, 0.53);
        Assert.InRange(draws.Count(d => d.Contrast != 1) / 4000.0, 0.47, 0.53);
        Assert.InRange(draws.Count(d => d.Saturation != 1) / 4000.0, 0.47, 0.53);
        Assert.InRange(draws.Count(d => d.Brightness != 0 && d.Contrast != 1) / 4000.0, 0.22, 0.28); // independent
    }

    private static List<SampleDraw> DrawMany(double p, int n, int size) =>
        [.. new AugmentPipe(new AugmentOptions()) { P = p }.Apply(new float[n * 3 * size * size], n, 3, size, seed: 2024).Draws];

    private static double Std(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
    }

    [Fact]
    public void BadArgumentsThrowWithClearMessages()
    {
        var pipe = new AugmentPipe(new AugmentOptions());
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentOutOfRangeException>(() => pipe.P = 1.5).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => pipe.P = -0.1);
        Assert.Throws<ArgumentOutOfRangeException>(() => pipe.P = double.NaN);
        Assert.Contains("2 x 3 x 4 x 4 = 96", Assert.Throws<ArgumentException>(() => pipe.Apply(new float[95], 2, 3, 4, 0)).Message);
        Assert.Contains("at least 1", Assert.Throws<ArgumentOutOfRangeException>(() => pipe.Apply([], 0, 3, 4, 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => pipe.Apply([], 1, 0, 4, 0));
        Assert.Throws<ArgumentNullException>(() => pipe.Apply(null!, 1, 3, 4, 0));
        Assert.Contains("2 channels", Assert.Throws<ArgumentException>(() => pipe.Apply(new float[32], 1, 2, 4, 0)).Message);
        new AugmentPipe(new AugmentOptions(Color: false)).Apply(new float[32], 1, 2, 4, 0); // geometry works on any channel count
        Assert.Contains("dAugmented", Assert.Throws<ArgumentException>(() => pipe.Apply(new float[48], 1, 3, 4, 0).Backward(new float[47])).Message);
        Assert.Contains("TranslationStd", Assert.Throws<ArgumentOutOfRangeException>(() => new AugmentPipe(new AugmentOptions(TranslationStd: 1.5))).Message);
        Assert.Contains("ContrastStd", Assert.Throws<ArgumentOutOfRangeException>(() => new AugmentPipe(new AugmentOptions(ContrastStd: -1))).Message);
        Assert.Contains("BrightnessStd", Assert.Throws<ArgumentOutOfRangeException>(() => new AugmentPipe(new AugmentOptions(BrightnessStd: double.PositiveInfinity))).Message);
    }
}
