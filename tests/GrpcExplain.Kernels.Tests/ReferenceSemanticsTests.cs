using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

/// <summary>
/// Finite differences only prove that a reference's backward matches its forward; these pin the
/// forwards to the conventions of NVIDIA's stylegan2-ada-pytorch, which converted weights rely on.
/// </summary>
public sealed class ReferenceSemanticsTests
{
    private const double Exact = 1e-12;

    [Fact]
    public void Upfirdn2dIsATrueConvolutionWithTheFilterFlipped()
    {
        var p = new Upfirdn2dParams { Filter = new FirFilter([0.25f, 2f], 1, 2) };
        var y = Reference.Upfirdn2dForward([1, 10, 100], new Shape(1, 1, 1, 3), p);
        Accuracy.AssertClose("y", y, [1 * 2 + 10 * 0.25, 10 * 2 + 100 * 0.25], null, Exact);
    }

    [Theory]
    [InlineData("upsample2x", 6, 12, 2, 10)]
    [InlineData("downsample2x", 8, 4, 1, 3)]
    public void ResamplingKeepsAConstantImageAwayFromTheBorders(string kind, int size, int outSize, int from, int to)
    {
        var p = Upfirdn2dCase.Params(kind);
        var x = new Shape(1, 1, size, size);
        var y = Reference.Upfirdn2dForward(TestData.ToDouble(TestData.Filled(x.Length, 0.75f)), x, p);
        Assert.Equal(outSize * outSize, y.Length);
        for (int oy = from; oy < to; oy++)
            for (int ox = from; ox < to; ox++)
                Assert.Equal(0.75, y[oy * outSize + ox], 12);
    }

    [Fact]
    public void Conv2dIsACrossCorrelation()
    {
        // A kernel whose only tap is its top-left corner shifts the image down and right by one.
        var x = new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
        var w = new double[9];
        w[0] = 1;
        var y = Reference.Conv2dForward(x, new Shape(1, 1, 3, 3), w, new Shape(1, 1, 3, 3), new Conv2dParams(Padding: 1, WeightGain: 2));
        Accuracy.AssertClose("y", y, [0, 0, 0, 0, 2, 4, 0, 8, 10], null, Exact);
    }

    [Fact]
    public void ToRgbIsAPerPixelProductOfStyledWeights()
    {
        Shape xs = new(2, 3, 2, 2), ws = new(2, 3, 1, 1);
        var rng = TestData.Rng("torgb semantics");
        double[] x = TestData.NormalDouble(rng, xs.Length), w = TestData.NormalDouble(rng, ws.Length), s = TestData.NormalDouble(rng, 6);
        var y = Reference.ModulatedConv2dForward(x, xs, w, ws, s, new ModulatedConv2dParams(Demodulate: false));
        var expected = new double[2 * 2 * 4];
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 2; o++)
                for (int q = 0; q < 4; q++)
                    for (int i = 0; i < 3; i++)
                        expected[(n * 2 + o) * 4 + q] += w[o * 3 + i] * s[n * 3 + i] * x[(n * 3 + i) * 4 + q];
        Accuracy.AssertClose("y", y, expected, null, Exact);
    }

    [Fact]
    public void DemodulationCancelsAnyScaleOfStylesAndWeights()
    {
        Shape xs = new(2, 3, 4, 4), ws = new(5, 3, 3, 3);
        var rng = TestData.Rng("demod semantics");
        double[] x = TestData.NormalDouble(rng, xs.Length), w = TestData.NormalDouble(rng, ws.Length), s = TestData.NormalDouble(rng, 6);
        var p = new ModulatedConv2dParams();
        var y = Reference.ModulatedConv2dForward(x, xs, w, ws, s, p);
        var scaled = Reference.ModulatedConv2dForward(x, xs, [.. w.Select(v => v * 7)], ws, [.. s.Select(v => v * 0.3)], p);
        Accuracy.AssertClose("y", scaled, y, null, 1e-9);
    }

    /// <summary>
    /// NVIDIA's synthesis layers with up=2 run with flip_weight=False: upsample (up 2, pads 3 and 2, gain 4),
    /// then a true convolution with W. The reference's transposed convolution plus FIR must equal that.
    /// </summary>
    [Fact]
    public void UpsamplingModulatedConvIsUpfirdnThenATrueConvolution()
    {
        Shape xs = new(1, 2, 3, 4), ws = new(3, 2, 3, 3);
        var rng = TestData.Rng("up semantics");
        double[] x = TestData.NormalDouble(rng, xs.Length), w = TestData.NormalDouble(rng, ws.Length);
        var y = Reference.ModulatedConv2dForward(x, xs, w, ws, [1, 1], new ModulatedConv2dParams(Demodulate: false, Up: true));

        var up = new Upfirdn2dParams(Up: 2, PadX0: 3, PadX1: 2, PadY0: 3, PadY1: 2, Gain: 4);
        var t = Reference.Upfirdn2dForward(x, xs, up);
        var flipped = new double[w.Length];
        for (int j = 0; j < w.Length; j++) flipped[j] = w[j / 9 * 9 + 8 - j % 9];
        var expected = Reference.Conv2dForward(t, up.OutputShape(xs), flipped, ws, new Conv2dParams());
        Accuracy.AssertClose("y", y, expected, new Shape(1, 3, 6, 8), 1e-12);
    }

    [Fact]
    public void NoiseIsBroadcastOverChannelsAndASharedMapOverTheBatch()
    {
        var shape = new Shape(2, 3, 2, 2);
        var rng = TestData.Rng("noise semantics");
        double[] x = TestData.NormalDouble(rng, shape.Length), noise = TestData.NormalDouble(rng, 4);
        var p = BiasActivateParams.Linear();
        var shared = Reference.BiasActivateForward(x, shape, null, noise, 1, 0.5, p);
        var perSample = Reference.BiasActivateForward(x, shape, null, [.. noise, .. noise], 2, 0.5, p);
        var expected = new double[x.Length];
        for (int j = 0; j < x.Length; j++) expected[j] = x[j] + 0.5 * noise[j % 4];
        Accuracy.AssertClose("shared map", shared, expected, shape, Exact);
        Accuracy.AssertClose("per-sample maps", perSample, expected, shape, Exact);
    }

    [Fact]
    public void Normalize2ndMomentGivesUnitMeanSquare()
    {
        var y = Reference.Normalize2ndMomentForward(TestData.NormalDouble(TestData.Rng("norm semantics"), 2 * 37, 5), 2, 37);
        for (int n = 0; n < 2; n++) Assert.Equal(1, y.Skip(n * 37).Take(37).Average(v => v * v), 6);
    }
}
