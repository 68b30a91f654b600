using GrpcExplain.Kernels.Cpu;
using GrpcExplain.StyleGan.Tests.Generator;

namespace GrpcExplain.StyleGan.Tests.Projection;

/// <summary>
/// Synthesis with caller-supplied noise maps, which projection optimises: the stored maps give
/// NoiseMode.Const's images, per-sample maps act per sample, dL/d(map) matches finite differences,
/// and wrong maps are refused before any work.
/// </summary>
public class GivenNoiseSynthesisTests
{
    private static Dictionary<string, float[]> Stored(StyleGan.Generator g) =>
        g.NoiseLayers.ToDictionary(l => l.Name, l => g.Weights[$"{l.Name}.noise_const"].Data);

    private static Dictionary<string, float[]> RandomMaps(StyleGan.Generator g, Random rng, int batch = 1) =>
        g.NoiseLayers.ToDictionary(l => l.Name, l => TinyGenerators.Normal(rng, batch * l.Resolution * l.Resolution));

    [Fact]
    public void TheStoredMapsGiveTheConstImages()
    {
        using var b = new CpuBackend();
        using var g = new StyleGan.Generator(b, TinyGenerators.Weights(TinyGenerators.Rgb16Conditional));
        var ws = TinyGenerators.Normal(new Random(1), 2 * g.Config.NumWs * g.Config.WDim);
        Assert.Equal(g.Synthesize(ws, 2, NoiseMode.Const), g.Synthesize(ws, 2, Stored(g)));
        using var pass = g.Forward(ws, 2, Stored(g));
        Assert.Equal(g.Synthesize(ws, 2, NoiseMode.Const), pass.Images);
        Assert.Equal(["synthesis.b4.conv1", "synthesis.b8.conv0", "synthesis.b8.conv1", "synthesis.b16.conv0", "synthesis.b16.conv1"], g.NoiseLayers.Select(l => l.Name));
        Assert.Equal([4, 8, 8, 16, 16], g.NoiseLayers.Select(l => l.Resolution));
    }

    [Fact]
    public void PerSampleMapsActPerSample()
    {
        using var b = new CpuBackend();
        using var g = new StyleGan.Generator(b, TinyGenerators.Weights(TinyGenerators.Grey8));
        var rng = new Random(2);
        int wDim = g.Config.WDim;
        var ws = TinyGenerators.Normal(rng, 2 * wDim);
        var maps = RandomMaps(g, rng, batch: 2);
        var both = g.Synthesize(ws, 2, maps);
        int image = both.Length / 2;
        for (int s = 0; s < 2; s++)
        {
            var own = maps.ToDictionary(m => m.Key, m => m.Value.AsSpan(s * m.Value.Length / 2, m.Value.Length / 2).ToArray());
            var alone = g.Synthesize(ws.AsSpan(s * wDim, wDim).ToArray(), 1, own);
            Assert.Equal(alone, both.AsSpan(s * image, image).ToArray());
        }
        Assert.NotEqual(g.Synthesize(ws, 2, NoiseMode.Const), both);
    }

    /// <summary>L = Σ image·r; the same tolerance rule as LatentGradientTests (leaky ReLU kinks, float32 forwards).</summary>
    [Fact]
    public void NoiseMapGradientsMatchFiniteDifferences()
    {
        using var b = new CpuBackend();
        using var g = new StyleGan.Generator(b, TinyGenerators.Weights(TinyGenerators.Grey8));
        var rng = new Random(3);
        var ws = TinyGenerators.Normal(rng, g.Config.NumWs * g.Config.WDim);
        var maps = RandomMaps(g, rng);
        using var pass = g.Forward(ws, 1, maps);
        var r = TinyGenerators.Normal(rng, pass.Images.Length);
        var gradient = pass.Backward(r, noise: true);
        Assert.Equal(g.NoiseLayers.Select(l => l.Name).Order(), gradient.Noise!.Keys.Order());
        double Loss(Dictionary<string, float[]> m) => g.Synthesize(ws, 1, m).Zip(r, (a, c) => (double)a * c).Sum();
        const float Eps = 1e-3f;
        foreach (var layer in g.NoiseLayers)
        {
            var v = TinyGenerators.Normal(rng, layer.Resolution * layer.Resolution);
            var plus = maps.ToDictionary(m => m.Key, m => m.Key == layer.Name ? [.. m.Value.Zip(v, (a, d) => a + Eps * d)] : m.Value);
            var minus = maps.ToDictionary(m => m.Key, m => m.Key == layer.Name ? [.. m.Value.Zip(v, (a, d) => a - Eps * d)] : m.Value);
            double fd = (Loss(plus) - Loss(minus)) / (2 * Eps);
            var d = gradient.Noise[layer.Name];
            double analytic = d.Zip(v, (a, c) => (double)a * c).Sum();
            double bound = Math.Sqrt(d.Sum(x => (double)x * x) * v.Sum(x => (double)x * x));
            Assert.True(Math.Abs(fd - analytic) <= 0.03 * Math.Max(Math.Abs(fd), 0.1 * bound), $"{layer.Name}: finite differences {fd:G6}, gradient {analytic:G6}.");
        }
    }

    [Fact]
    public void WrongMapsAreRefused()
    {
        using var b = new CpuBackend();
        using var g = new StyleGan.Generator(b, TinyGenerators.Weights(TinyGenerators.Grey8));
        var ws = new float[g.Config.WDim];
        var good = Stored(g);
        string Error(Dictionary<string, float[]> maps) => Assert.Throws<ArgumentException>(() => g.Synthesize(ws, 1, maps)).Message;

        Assert.Contains("No noise map for layer synthesis.b8.conv1", Error(good.Where(m => m.Key != "synthesis.b8.conv1").ToDictionary()), StringComparison.Ordinal);
        Assert.Contains("unknown layers: synthesis.b8.torgb", Error(new(good) { ["synthesis.b8.torgb"] = new float[64] }), StringComparison.Ordinal);
        Assert.Contains("holds 63 values; expected [8, 8] or [N, 8, 8] = [1, 8, 8]", Error(new(good) { ["synthesis.b8.conv0"] = new float[63] }), StringComparison.Ordinal);
        Assert.Contains("non-finite value (NaN) at element 5", Error(new(good) { ["synthesis.b4.conv1"] = [.. Enumerable.Range(0, 16).Select(i => i == 5 ? float.NaN : 0f)] }), StringComparison.Ordinal);
    }
}
