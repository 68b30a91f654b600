using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Tests.Generator;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>
/// What training does with the generator besides its gradients: initialise one as NVIDIA does, read
/// and write its parameters by name (with bad input named), and save what it computes with.
/// </summary>
public sealed class GeneratorParametersTests : IDisposable
{
    private static readonly GeneratorConfig Config = TinyGenerators.Rgb16Conditional;
    private readonly string _dir = Directory.CreateTempSubdirectory("gp-").FullName;
    private readonly Backend _backend = Backends.Create("cpu");

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void TrainableParametersAreTheTensorsLessTheBuffers()
    {
        var parameters = Config.ParameterShapes().Select(p => p.Name).ToList();
        var buffers = Config.TensorShapes().Select(p => p.Name).Except(parameters).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["mapping.w_avg", "synthesis.b16.conv0.noise_const", "synthesis.b16.conv1.noise_const", "synthesis.b4.conv1.noise_const",
            "synthesis.b8.conv0.noise_const", "synthesis.b8.conv1.noise_const"], buffers);
        Assert.Contains("synthesis.b8.conv0.noise_strength", parameters);
        Assert.Contains("mapping.embed.weight", parameters);
        Assert.Equal(parameters.Distinct().Count(), parameters.Count);
    }

    [Fact]
    public void InitializeFollowsStyleGan2()
    {
        var big = new GeneratorConfig(ZDim: 64, CDim: 0, WDim: 64, ImgResolution: 16, ImgChannels: 3, MappingLayers: 2, ChannelBase: 512, ChannelMax: 32);
        var w = GeneratorWeights.Initialize(big, seed: 3);
        Assert.Equal(big.TensorShapes().Select(p => p.Name).Order(StringComparer.Ordinal), w.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, _) in big.TensorShapes())
        {
            var d = w[name].Data;
            if (name.EndsWith(".affine.bias", StringComparison.Ordinal)) Assert.All(d, v => Assert.Equal(1f, v));
            else if (name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith(".noise_strength", StringComparison.Ordinal) || name == "mapping.w_avg")
                Assert.All(d, v => Assert.Equal(0f, v));
            else
            {
                // N(0, 1), the mapping's stored divided by its lr multiplier 0.01 (they act as N(0, 1) at run time).
                double scale = name.StartsWith("mapping.fc", StringComparison.Ordinal) ? 100 : 1;
                double mean = d.Average(v => v / scale), std = Math.Sqrt(d.Average(v => v / scale * (v / scale)) - mean * mean);
                double slack = 5 / Math.Sqrt(d.Length);
                Assert.True(Math.Abs(mean) < slack && Math.Abs(std - 1) < slack + 0.05, $"{name}: mean {mean:G3}, std {std:G3} over {d.Length} values.");
            }
        }
        Assert.Equal(w.ContentHash, GeneratorWeights.Initialize(big, seed: 3).ContentHash);
        Assert.NotEqual(w.ContentHash, GeneratorWeights.Initialize(big, seed: 4).ContentHash);
    }

    [Fact]
    public void InitializedWeightsSaveAndLoadBack()
    {
        var w = GeneratorWeights.Initialize(Config, seed: 1);
        var path = Path.Combine(_dir, "g.safetensors");
        w.Save(path);
        var loaded = GeneratorWeights.Load(path);
        Assert.Equal(Config, loaded.Config);
        Assert.Equal(w.ContentHash, loaded.ContentHash);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void GetParametersReturnsTheTrainableOnesAndWAvg()
    {
        var weights = TinyGenerators.Weights(Config);
        using var g = new StyleGan.Generator(_backend, weights);
        var p = g.GetParameters();
        Assert.Equal(Config.ParameterShapes().Select(s => s.Name).Append("mapping.w_avg").Order(StringComparer.Ordinal), p.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, values) in p) Assert.Equal(weights[name].Data, values);
        p["synthesis.b4.const"][0] += 1; // host copies: changing them changes nothing
        Assert.Equal(weights["synthesis.b4.const"].Data, g.GetParameters()["synthesis.b4.const"]);
    }

    [Fact]
    public void SetParametersChangesWhatTheGeneratorComputes()
    {
        var a = TinyGenerators.Weights(Config, seed: 1);
        var b = TinyGenerators.Weights(Config, seed: 2);
        using var g = new StyleGan.Generator(_backend, a);
        using var reference = new StyleGan.Generator(_backend, b);
        var rng = new Random(5);
        var z = TinyGenerators.Normal(rng, 2 * Config.ZDim);
        float[] c = [1, 0, 0, 1];
        var before = g.Weights;

        var values = reference.GetParameters();
        g.SetParameters(values);

        Assert.Equal(reference.Map(z, 2, c, truncationPsi: 0.5f), g.Map(z, 2, c, truncationPsi: 0.5f));
        var ws = g.Map(z, 2, c);
        Assert.Equal(Same(reference, ws, NoiseMode.None), Same(g, ws, NoiseMode.None));
        // The noise_const buffers are not parameters: they stay the first generator's.
        Assert.NotEqual(reference.Synthesize(ws, 2), g.Synthesize(ws, 2));
        Assert.Equal(a["synthesis.b8.conv0.noise_const"].Data, g.Weights["synthesis.b8.conv0.noise_const"].Data);
        // Weights follows the change; the weights object it was built from is untouched.
        Assert.Equal(b["synthesis.b8.conv1.affine.weight"].Data, g.Weights["synthesis.b8.conv1.affine.weight"].Data);
        Assert.Equal(a["mapping.w_avg"].Data, before["mapping.w_avg"].Data);
        Assert.NotEqual(before.ContentHash, g.Weights.ContentHash);
        Assert.Equal(g.Weights.ContentHash, g.ToWeights().ContentHash);

        static float[] Same(StyleGan.Generator gen, float[] ws, NoiseMode noise) => gen.Synthesize(ws, 2, noise);
    }

    [Fact]
    public void ASubsetSuchAsWAvgAloneCanBeSet()
    {
        using var g = new StyleGan.Generator(_backend, TinyGenerators.Weights(Config));
        var others = g.GetParameters();
        var wAvg = Enumerable.Range(0, Config.WDim).Select(i => 0.1f * i).ToArray();
        g.SetParameters(new Dictionary<string, float[]> { ["mapping.w_avg"] = wAvg });
        var after = g.GetParameters();
        Assert.Equal(wAvg, after["mapping.w_avg"]);
        foreach (var (name, v) in others.Where(p => p.Key != "mapping.w_avg")) Assert.Equal(v, after[name]);
        // psi 0 puts every w at w_avg.
        var ws = g.Map(TinyGenerators.Normal(new Random(1), Config.ZDim), 1, [0, 1], truncationPsi: 0f);
        Assert.All(ws.Chunk(Config.WDim), w => Assert.Equal(wAvg, w));
    }

    [Fact]
    public void ToWeightsBuildsAnIdenticalGenerator()
    {
        using var g = new StyleGan.Generator(_backend, TinyGenerators.Weights(Config, seed: 1));
        var update = TinyGenerators.Weights(Config, seed: 9);
        g.SetParameters(Config.ParameterShapes().Where((_, i) => i % 2 == 0).ToDictionary(p => p.Name, p => update[p.Name].Data));
        var path = Path.Combine(_dir, "trained.safetensors");
        g.ToWeights().Save(path);
        using var again = new StyleGan.Generator(_backend, GeneratorWeights.Load(path));
        var rng = new Random(2);
        var z = TinyGenerators.Normal(rng, 2 * Config.ZDim);
        float[] c = [0, 1, 1, 0];
        var ws = g.Map(z, 2, c);
        Assert.Equal(ws, again.Map(z, 2, c));
        Assert.Equal(g.Synthesize(ws, 2), again.Synthesize(ws, 2));
    }

    [Theory]
    [InlineData("synthesis.b8.conv0.wieght", 1, "no parameter 'synthesis.b8.conv0.wieght'")]
    [InlineData("synthesis.b8.conv0.noise_const", 64, "'synthesis.b8.conv0.noise_const' is a fixed buffer")]
    [InlineData("synthesis.b8.conv0.weight", 7, "'synthesis.b8.conv0.weight' takes 225 values ([5, 5, 3, 3]), got 7")]
    [InlineData("synthesis.b4.conv1.noise_strength", 2, "'synthesis.b4.conv1.noise_strength' takes 1 values ([]), got 2")]
    [InlineData("mapping.w_avg", 5, "'mapping.w_avg' takes 6 values ([6]), got 5")]
    public void BadParametersAreNamedAndChangeNothing(string name, int length, string expected)
    {
        using var g = new StyleGan.Generator(_backend, TinyGenerators.Weights(Config));
        var before = g.GetParameters();
        var values = new Dictionary<string, float[]>
        {
            ["mapping.fc0.bias"] = new float[Config.WDim], // valid, listed first: must not be applied either
            [name] = new float[length],
        };
        var e = Assert.Throws<ArgumentException>(() => g.SetParameters(values));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, g.GetParameters());
    }

    [Fact]
    public void NonFiniteValuesAreNamed()
    {
        using var g = new StyleGan.Generator(_backend, TinyGenerators.Weights(Config));
        var bias = new float[Config.Channels(16)];
        bias[2] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => g.SetParameters(new Dictionary<string, float[]> { ["synthesis.b16.conv1.bias"] = bias }));
        Assert.Contains("'synthesis.b16.conv1.bias' holds a non-finite value (NaN) at element 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomNoiseGradientsAreReproducibleBySeed()
    {
        using var g = new StyleGan.Generator(_backend, TinyGenerators.Weights(Config));
        var rng = new Random(3);
        var ws = g.Map(TinyGenerators.Normal(rng, 2 * Config.ZDim), 2, [1, 0, 0, 1]);
        var r = TinyGenerators.Normal(rng, 2 * 3 * 16 * 16);
        GeneratorGradients Run(int seed)
        {
            using var pass = g.Forward(ws, 2, NoiseMode.Random, seed);
            return pass.ParameterBackward(r);
        }
        var (a, b, other) = (Run(1), Run(1), Run(2));
        Assert.Equal(a.Parameters["synthesis.b16.conv1.noise_strength"], b.Parameters["synthesis.b16.conv1.noise_strength"]);
        Assert.NotEqual(a.Parameters["synthesis.b16.conv1.noise_strength"], other.Parameters["synthesis.b16.conv1.noise_strength"]);
        Assert.All(a.Parameters.Values, v => Assert.All(v, x => Assert.True(float.IsFinite(x))));
    }

    /// <summary>
    /// A layer adds strength·map, so dL/d(strength) = Σ map·dL/d(added noise) = Σ map·dL/d(map) / strength:
    /// two outputs of different backward passes tied exactly. Per-sample maps, as 'random' draws them.
    /// </summary>
    [Fact]
    public void NoiseStrengthGradientAgreesWithTheNoiseMapGradientForPerSampleNoise()
    {
        var weights = TinyGenerators.Weights(Config);
        using var g = new StyleGan.Generator(_backend, weights);
        var rng = new Random(6);
        int n = 2;
        var ws = g.Map(TinyGenerators.Normal(rng, n * Config.ZDim), n, [1, 0, 0, 1]);
        var maps = g.NoiseLayers.ToDictionary(l => l.Name, l => TinyGenerators.Normal(rng, n * l.Resolution * l.Resolution));
        using var pass = g.Forward(ws, n, maps);
        var r = TinyGenerators.Normal(rng, pass.Images.Length);
        var noise = pass.Backward(r, noise: true).Noise!;
        var parameters = pass.ParameterBackward(r).Parameters;
        foreach (var layer in g.NoiseLayers)
        {
            float strength = weights[$"{layer.Name}.noise_strength"].Data[0];
            double expected = maps[layer.Name].Zip(noise[layer.Name], (m, d) => (double)m * d).Sum() / strength;
            double ours = parameters[$"{layer.Name}.noise_strength"][0];
            Assert.True(Math.Abs(ours - expected) <= 1e-4 * (1 + Math.Abs(expected)), $"{layer.Name}: dL/d(noise_strength) {ours:G6}, Σ map·dL/d(map) / strength {expected:G6}.");
        }
    }

    [Fact]
    public void MappingGradientSumsTheLayersItFed()
    {
        using var g = new StyleGan.Generator(_backend, TinyGenerators.Weights(Config));
        var rng = new Random(4);
        int n = 2, numWs = Config.NumWs, wDim = Config.WDim;
        var z = TinyGenerators.Normal(rng, n * Config.ZDim);
        float[] c = [1, 0, 0, 1];
        var dWs = TinyGenerators.Normal(rng, n * numWs * wDim);
        // The same total per sample, all on layer 0: the mapping only sees the sum.
        var summed = new float[dWs.Length];
        for (int s = 0; s < n; s++)
            for (int l = 0; l < numWs; l++)
                for (int j = 0; j < wDim; j++) summed[(s * numWs) * wDim + j] += dWs[(s * numWs + l) * wDim + j];
        var a = g.MappingParameterGradient(z, n, dWs, c);
        var b = g.MappingParameterGradient(z, n, summed, c);
        Assert.Equal(Config.ParameterShapes().Select(p => p.Name).Where(p => p.StartsWith("mapping.", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            a.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, v) in a) Assert.Equal(v, b[name], (x, y) => Math.Abs(x - y) <= 1e-4f * (1 + Math.Abs(x)));
        Assert.Contains("dWs holds 3 values", Assert.Throws<ArgumentException>(() => g.MappingParameterGradient(z, n, new float[3], c)).Message, StringComparison.Ordinal);
    }
}
