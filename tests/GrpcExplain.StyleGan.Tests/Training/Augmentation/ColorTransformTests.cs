using GrpcExplain.StyleGan.Training.Augmentation;
using static GrpcExplain.StyleGan.Tests.Training.Augmentation.AugmentTestData;

namespace GrpcExplain.StyleGan.Tests.Training.Augmentation;

/// <summary>
/// The colour forward against ADA's formulation in float64: one homogeneous 4x4 colour matrix per
/// sample, C = S·K·B applied to every pixel's (r, g, b, 1), with B = translate(b, b, b), K the contrast
/// (here around the sample's mean m: translate(m)·scale(c)·translate(−m)) and S = vvᵀ + s(I − vvᵀ),
/// v = (1, 1, 1, 0)/√3; grey images take the mean of C's colour rows, as augment.py does.
/// </summary>
public sealed class ColorTransformTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void ColourMatchesAdasMatrixFormulation(int channels)
    {
        const int size = 6;
        var draws = new[] { new SampleDraw(false, 0, 0, 0, 0.25f, 1.6f, 0.4f), new SampleDraw(false, 0, 0, 0, -0.1f, 0.5f, 2.2f) };
        var x = Images(2, channels, size, 12);
        var y = AugmentedBatch.Forward(x, draws, 2, channels, size).Images;
        int plane = size * size, per = channels * plane;
        for (int i = 0; i < 2; i++)
        {
            var d = draws[i];
            double m = Enumerable.Range(i * per, per).Average(j => (double)x[j]) + d.Brightness; // mean after brightness
            var c = Multiply(Saturation(d.Saturation), Multiply(Translate(m), Multiply(Scale(d.Contrast), Multiply(Translate(-m), Translate(d.Brightness)))));
            for (int p = 0; p < plane; p++)
                for (int ch = 0; ch < channels; ch++)
                {
                    double expected;
                    if (channels == 3)
                    {
                        expected = c[ch, 3];
                        for (int k = 0; k < 3; k++) expected += c[ch, k] * x[i * per + k * plane + p];
                    }
                    else
                    {
                        double scale = 0, offset = 0; // mean of rows 0..2, then the row's colour part summed
                        for (int r = 0; r < 3; r++) { offset += c[r, 3] / 3; for (int k = 0; k < 3; k++) scale += c[r, k] / 3; }
                        expected = scale * x[i * per + p] + offset;
                    }
                    Assert.True(Math.Abs(expected - y[i * per + ch * plane + p]) < 2e-6, $"sample {i} channel {ch} pixel {p}: {expected} vs {y[i * per + ch * plane + p]}");
                }
        }
    }

    [Fact]
    public void GreyImagesIgnoreSaturation()
    {
        var x = Images(1, 1, 5, 3);
        Assert.Equal(x, AugmentedBatch.Forward(x, [SampleDraw.Identity with { Saturation = 3f }], 1, 1, 5).Images);
    }

    private static double[,] Translate(double t) => new double[,] { { 1, 0, 0, t }, { 0, 1, 0, t }, { 0, 0, 1, t }, { 0, 0, 0, 1 } };
    private static double[,] Scale(double s) => new double[,] { { s, 0, 0, 0 }, { 0, s, 0, 0 }, { 0, 0, s, 0 }, { 0, 0, 0, 1 } };

    private static double[,] Saturation(double s)
    {
        double l = 1 / Math.Sqrt(3);
        double[] v = [l, l, l, 0];
        var m = new double[4, 4];
        for (int r = 0; r < 4; r++)
            for (int k = 0; k < 4; k++) m[r, k] = v[r] * v[k] + ((r == k ? 1 : 0) - v[r] * v[k]) * s;
        return m;
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        var m = new double[4, 4];
        for (int r = 0; r < 4; r++) for (int k = 0; k < 4; k++) for (int j = 0; j < 4; j++) m[r, k] += a[r, j] * b[j, k];
        return m;
    }
}
