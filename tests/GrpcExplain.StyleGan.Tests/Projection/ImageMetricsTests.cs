using GrpcExplain.StyleGan.Projection;
using GrpcExplain.StyleGan.Tests.Generator;

namespace GrpcExplain.StyleGan.Tests.Projection;

/// <summary>
/// PSNR, SSIM and MS-SSIM against PyTorch (pytorch_msssim's algorithm, cross-checked in the script by
/// a position-by-position NumPy implementation) and their gradients against PyTorch's autograd and
/// against central finite differences.
/// </summary>
public class ImageMetricsTests
{
    public static TheoryData<string> Cases => [.. ProjectionFixture.MetricCases.Select(c => c.GetProperty("name").GetString()!)];

    private static (float[] X, float[] Y, ImageShape Shape) Images(string name)
    {
        var shape = ProjectionFixture.MetricCase(name).GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        return (ProjectionFixture.Tensor($"{name}.x"), ProjectionFixture.Tensor($"{name}.y"), new ImageShape(shape[0], shape[1], shape[2]));
    }

    /// <summary>Both sides compute in double from the same float32 images: only summation order differs.</summary>
    [Theory, MemberData(nameof(Cases))]
    public void ValuesMatchPyTorch(string name)
    {
        var c = ProjectionFixture.MetricCase(name);
        var (x, y, shape) = Images(name);
        Assert.Equal(c.GetProperty("ssim").GetDouble(), ImageMetrics.Ssim(x, y, shape), 1e-10);
        Assert.Equal(c.GetProperty("ms_ssim").GetDouble(), ImageMetrics.MsSsim(x, y, shape), 1e-10);
        Assert.Equal(c.GetProperty("mse").GetDouble(), ImageMetrics.MeanSquaredError(x, y), 1e-12);
        Assert.Equal(c.GetProperty("psnr_db").GetDouble(), ImageMetrics.Psnr(x, y), 1e-9);
        int side = Math.Min(shape.Height, shape.Width);
        Assert.Equal(c.GetProperty("scales").GetInt32(), SsimOptions.Default.MsSsimScales(side));
        Assert.Equal(c.GetProperty("window").GetInt32(), SsimOptions.Default.FittedTo(side).WindowSize);
        Assert.Equal(c.GetProperty("sigma").GetDouble(), SsimOptions.Default.FittedTo(side).Sigma, 1e-12);
    }

    /// <summary>The fixture's gradients are float32 roundings of float64 autograd: agreement to 1e-6 of the largest entry.</summary>
    [Theory, MemberData(nameof(Cases))]
    public void GradientsMatchPyTorch(string name)
    {
        var (x, y, shape) = Images(name);
        var gradient = new float[x.Length];
        if (ProjectionFixture.Has($"{name}.d_ssim"))
        {
            ImageMetrics.Ssim(x, y, shape, gradient);
            AssertClose(ProjectionFixture.Tensor($"{name}.d_ssim"), gradient, "dSSIM/dx");
        }
        ImageMetrics.MsSsim(x, y, shape, gradient);
        AssertClose(ProjectionFixture.Tensor($"{name}.d_ms_ssim"), gradient, "dMS-SSIM/dx");
    }

    /// <summary>
    /// Directional derivatives against central differences of the double-precision metric, ε = 1e-3 on
    /// images of unit scale: the truncation error (ε²·third derivative) and float32 input rounding
    /// (~1e-7/ε) stay below 1e-4 of the derivative's scale ‖g‖·‖v‖.
    /// </summary>
    [Theory]
    [InlineData("grey32", false)]
    [InlineData("grey32", true)]
    [InlineData("rgb23x29", true)]
    [InlineData("grey8_fitted_window", true)]
    public void GradientsMatchFiniteDifferences(string name, bool multiScale)
    {
        var (x, y, shape) = Images(name);
        Func<float[], double> metric = multiScale ? a => ImageMetrics.MsSsim(a, y, shape) : a => ImageMetrics.Ssim(a, y, shape);
        var gradient = new float[x.Length];
        if (multiScale) ImageMetrics.MsSsim(x, y, shape, gradient);
        else ImageMetrics.Ssim(x, y, shape, gradient);
        var rng = new Random(5);
        const float Eps = 1e-3f;
        for (int trial = 0; trial < 3; trial++)
        {
            var v = TinyGenerators.Normal(rng, x.Length);
            float[] plus = [.. x.Zip(v, (a, b) => a + Eps * b)], minus = [.. x.Zip(v, (a, b) => a - Eps * b)];
            // Both sides along the step actually taken, after float32 rounding: no division by 2ε.
            double fd = metric(plus) - metric(minus);
            double analytic = Enumerable.Range(0, x.Length).Sum(i => (double)gradient[i] * (plus[i] - minus[i]));
            double scale = Math.Sqrt(gradient.Sum(g => (double)g * g)) * 2 * Eps * Math.Sqrt(v.Sum(b => (double)b * b));
            Assert.True(Math.Abs(fd - analytic) <= 1e-4 * scale, $"{name}, direction {trial}: finite differences {fd:G8}, gradient {analytic:G8} (scale {scale:G3}).");
        }
    }

    [Fact]
    public void IdenticalImagesScoreOneWithAZeroGradient()
    {
        var (x, _, shape) = Images("rgb23x29");
        var gradient = new float[x.Length];
        Assert.Equal(1.0, ImageMetrics.Ssim(x, x, shape, gradient), 1e-12);
        Assert.All(gradient, g => Assert.True(Math.Abs(g) < 1e-9));
        Assert.Equal(1.0, ImageMetrics.MsSsim(x, x, shape, gradient), 1e-12);
        Assert.All(gradient, g => Assert.True(Math.Abs(g) < 1e-9));
        Assert.Equal(double.PositiveInfinity, ImageMetrics.Psnr(x, x));
    }

    /// <summary>One 8-bit step (1/127.5 in [-1, 1]) everywhere is PSNR 20·log10(255) ≈ 48.13 dB, as on 8-bit images.</summary>
    [Fact]
    public void PsnrUsesTheRangeOfMinusOneToOne()
    {
        var x = new float[64];
        var y = Enumerable.Repeat(1f / 127.5f, 64).ToArray();
        Assert.Equal(20 * Math.Log10(255), ImageMetrics.Psnr(x, y), 1e-4);
    }

    [Fact]
    public void ScalesAndWindowsFollowTheImageSize()
    {
        var o = SsimOptions.Default;
        int[] sides = [8, 20, 21, 32, 64, 128, 160, 161];
        Assert.Equal([1, 1, 2, 2, 3, 4, 4, 5], sides.Select(o.MsSsimScales));
        Assert.Equal(5, o.FittedTo(6).WindowSize);
        Assert.Equal(1.5 * 5 / 11, o.FittedTo(6).Sigma, 1e-12);
        Assert.Same(o, o.FittedTo(11));
    }

    [Fact]
    public void BadArgumentsSayWhatIsWrong()
    {
        var x = new float[32 * 32];
        var shape = new ImageShape(1, 32, 32);
        Assert.Contains("differ in size", Assert.Throws<ArgumentException>(() => ImageMetrics.Ssim(x, new float[10], shape)).Message, StringComparison.Ordinal);
        Assert.Contains("shape [1, 16, 16] needs 256", Assert.Throws<ArgumentException>(() => ImageMetrics.Ssim(x, x, new ImageShape(1, 16, 16))).Message, StringComparison.Ordinal);
        Assert.Contains("allow 1 to 2 MS-SSIM scales", Assert.Throws<ArgumentOutOfRangeException>(() => ImageMetrics.MsSsim(x, x, shape, scales: 3)).Message, StringComparison.Ordinal);
        Assert.Contains("odd number", Assert.Throws<ArgumentException>(() => ImageMetrics.Ssim(x, x, shape, new SsimOptions(WindowSize: 4))).Message, StringComparison.Ordinal);
        Assert.Contains("gradient holds 3", Assert.Throws<ArgumentException>(() => ImageMetrics.Ssim(x, x, shape, new float[3])).Message, StringComparison.Ordinal);
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        double scale = expected.Max(v => Math.Abs((double)v));
        int worst = Enumerable.Range(0, expected.Length).MaxBy(i => Math.Abs((double)expected[i] - actual[i]));
        Assert.True(Math.Abs((double)expected[worst] - actual[worst]) <= 1e-6 * scale,
            $"{what}: element {worst} is {actual[worst]:G8}, PyTorch {expected[worst]:G8} (largest |value| {scale:G3}).");
    }
}
