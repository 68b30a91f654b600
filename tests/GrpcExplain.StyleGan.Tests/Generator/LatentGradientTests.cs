using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan.Tests.Generator;

/// <summary>
/// The latent gradient (the vector-Jacobian product of synthesis and of mapping) against central
/// finite differences of the generator itself, along random directions: dL/dv·ε ≈ (L(x+εv) − L(x−εv))/2
/// with L = Σ image·r. Float32 forwards, so ε and the tolerance are generous but a wrong gradient
/// (a missed layer, a wrong w index, a transposed weight) is off by far more.
/// </summary>
public class LatentGradientTests
{
    public static TheoryData<string> Backends => ["cpu", "ilgpu-cpu"];

    private static double Loss(float[] image, float[] r) => image.Zip(r, (a, b) => (double)a * b).Sum();

    private static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();

    private static float[] Step(float[] x, float[] v, float eps) => [.. x.Zip(v, (a, b) => a + eps * b)];

    /// <summary>
    /// Leaky ReLU kinks crossed by the ±ε step and float32 rounding keep finite differences about 1%
    /// from the exact derivative here; the tolerance is 3% of the larger of |fd| and a tenth of the
    /// Cauchy–Schwarz bound ‖g‖·‖v‖ (so a direction nearly orthogonal to the gradient is not judged
    /// by the noise alone). A gradient missing a layer's share, or reading the wrong w, is far outside.
    /// </summary>
    private static void AssertDirectional(string what, Func<float[], double> loss, float[] x, float[] gradient, Random rng, float eps = 1e-3f)
    {
        double gNorm = Math.Sqrt(Dot(gradient, gradient));
        for (int trial = 0; trial < 3; trial++)
        {
            var v = TinyGenerators.Normal(rng, x.Length);
            double fd = (loss(Step(x, v, eps)) - loss(Step(x, v, -eps))) / (2 * eps);
            double analytic = Dot(gradient, v), bound = gNorm * Math.Sqrt(Dot(v, v));
            Assert.True(Math.Abs(fd - analytic) <= 0.03 * Math.Max(Math.Abs(fd), 0.1 * bound),
                $"{what}, direction {trial}: finite differences {fd:G6}, gradient {analytic:G6} (‖g‖·‖v‖ = {bound:G4}).");
        }
    }

    [Theory, MemberData(nameof(Backends))]
    public void WPlusGradientMatchesFiniteDifferences(string backend)
    {
        using var b = Kernels.Backends.Create(backend);
        using var g = new StyleGan.Generator(b, TinyGenerators.Weights(TinyGenerators.Grey8));
        var rng = new Random(1);
        int n = 2, numWs = g.Config.NumWs, wDim = g.Config.WDim;
        var ws = TinyGenerators.Normal(rng, n * numWs * wDim);
        using var pass = g.Forward(ws, n);
        var r = TinyGenerators.Normal(rng, pass.Images.Length);
        var grad = pass.Backward(r).Ws;
        Assert.Equal(ws.Length, grad.Length);
        AssertDirectional("W+", x => Loss(g.Synthesize(x, n), r), ws, grad, rng);
        Assert.Equal(g.Synthesize(ws, n), pass.Images);
    }

    [Theory, MemberData(nameof(Backends))]
    public void SingleWGradientSumsEveryLayer(string backend)
    {
        using var b = Kernels.Backends.Create(backend);
        using var g = new StyleGan.Generator(b, TinyGenerators.Weights(TinyGenerators.Rgb16Conditional));
        var rng = new Random(2);
        int n = 2;
        var w = TinyGenerators.Normal(rng, n * g.Config.WDim);
        using var pass = g.Forward(w, n, NoiseMode.None);
        var r = TinyGenerators.Normal(rng, pass.Images.Length);
        var grad = pass.Backward(r).Ws;
        Assert.Equal(w.Length, grad.Length);
        AssertDirectional("w", x => Loss(g.Synthesize(x, n, NoiseMode.None), r), w, grad, rng);
    }

    [Fact]
    public void MappingGradientMatchesFiniteDifferences()
    {
        using var b = new Kernels.Cpu.CpuBackend();
        using var g = new StyleGan.Generator(b, TinyGenerators.Weights(TinyGenerators.Rgb16Conditional));
        var rng = new Random(3);
        int n = 2;
        var z = TinyGenerators.Normal(rng, n * g.Config.ZDim);
        float[] c = [1, 0, 0, 1];
        const float psi = 0.7f;
        const int cutoff = 3;
        var ws = g.Map(z, n, c, psi, cutoff);
        using var pass = g.Forward(ws, n);
        var r = TinyGenerators.Normal(rng, pass.Images.Length);
        var dz = g.MappingGradient(z, n, pass.Backward(r).Ws, c, psi, cutoff);
        AssertDirectional("z", x => Loss(g.Synthesize(g.Map(x, n, c, psi, cutoff), n), r), z, dz, rng);
    }

    [Fact]
    public void NoiseGradientMatchesFiniteDifferencesOfTheStoredNoise()
    {
        var weights = TinyGenerators.Weights(TinyGenerators.Grey8);
        using var b = new Kernels.Cpu.CpuBackend();
        using var g = new StyleGan.Generator(b, weights);
        var rng = new Random(4);
        int n = 1;
        var ws = TinyGenerators.Normal(rng, n * g.Config.WDim);
        using var pass = g.Forward(ws, n);
        var r = TinyGenerators.Normal(rng, pass.Images.Length);
        var grad = pass.Backward(r, noise: true);
        const string layer = "synthesis.b8.conv0";
        var noise = weights[layer + ".noise_const"];
        double LossWith(float[] map)
        {
            var tensors = weights.Tensors.ToDictionary();
            tensors[layer + ".noise_const"] = noise with { Data = map };
            using var g2 = new StyleGan.Generator(b, StyleGan.Weights.GeneratorWeights.FromTensors(weights.Config, tensors));
            return Loss(g2.Synthesize(ws, n), r);
        }
        AssertDirectional("noise of " + layer, LossWith, noise.Data, grad.Noise![layer], rng);
        Assert.Equal(["synthesis.b4.conv1", "synthesis.b8.conv0", "synthesis.b8.conv1"], grad.Noise!.Keys.Order(StringComparer.Ordinal)); // conv layers only
    }
}
