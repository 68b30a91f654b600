using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Encoding;
using GrpcExplain.StyleGan.Projection;
using GrpcExplain.StyleGan.Tests.Projection;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Encoding;

/// <summary>
/// The encoder on the grey32 fixture generator: its flattened head's backward (new beside the reference
/// CNN's global-pooling head) against finite differences, its file, and its refusal to serve another
/// generator, by loading and by the projector, which then starts from the mean w.
/// </summary>
public sealed class EncoderTests(Grey32Projection fixture) : IClassFixture<Grey32Projection>, IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _dir = Directory.CreateTempSubdirectory("encoder-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Three convolutions (8x8 map of 8 channels, 512 features) to w_dim 32.</summary>
    private EncoderWeights Tiny(int seed = 3, string? hash = null)
    {
        var g = fixture.Generator;
        var config = new EncoderConfig(32, 1, [4, 8, 8], g.Config.WDim, fixture.Start.Std / MathF.Sqrt(g.Config.WDim), hash ?? g.Weights.ContentHash);
        return EncoderWeights.Initialize(config, fixture.Start.Mean, seed);
    }

    private static float[] Normal(Random rng, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())))];

    [Fact]
    public void ParameterAndInputGradientsMatchFiniteDifferences()
    {
        var weights = Tiny();
        using var encoder = new Encoder(fixture.Generator.Backend, weights);
        var rng = new Random(5);
        var images = Normal(rng, 2 * 32 * 32).Select(v => 0.5f * v).ToArray();
        var dOut = Normal(rng, 2 * 32);
        using var pass = encoder.Record(images, 2);
        var g = pass.Backward(dOut);
        double Objective(float[] x)
        {
            using var p = encoder.Record(x, 2);
            return p.Outputs.Select((v, i) => (double)v * dOut[i]).Sum();
        }
        // Directional derivatives along random unit directions: single-element differences of a float32
        // network are swamped by rounding; a direction through every element moves the objective more.
        // Small enough that few ReLUs cross zero (the random images put many pre-activations near it),
        // large enough for float32 rounding (at 1e-4 it dominates; 3e-4 to 5e-4 agree to about 1%).
        const double Eps = 5e-4;
        double Along(float[] values, float[] direction, Action<float[]> set)
        {
            var plus = values.Select((v, i) => (float)(v + Eps * direction[i])).ToArray();
            var minus = values.Select((v, i) => (float)(v - Eps * direction[i])).ToArray();
            set(plus);
            double fPlus = Objective(images);
            set(minus);
            double fMinus = Objective(images);
            set(values);
            return (fPlus - fMinus) / (2 * Eps);
        }
        float[] Direction(int count)
        {
            var u = Normal(rng, count);
            double norm = Math.Sqrt(u.Sum(v => (double)v * v));
            return [.. u.Select(v => (float)(v / norm))];
        }
        void Check(string name, double fd, float[] gradient, float[] direction)
        {
            double analytic = gradient.Select((v, i) => (double)v * direction[i]).Sum();
            Assert.True(Math.Abs(fd - analytic) <= 2e-3 + 2e-2 * Math.Abs(fd), $"{name}: backward {analytic}, finite difference {fd}");
        }

        foreach (var (name, tensor) in weights.Tensors.Where(t => t.Key != "w_avg"))
        {
            var values = tensor.Data.ToArray();
            var u = Direction(values.Length);
            Check(name, Along(values, u, v => encoder.SetParameters(new Dictionary<string, float[]> { [name] = v })), g.Parameters![name], u);
        }
        var input = images.ToArray();
        var d = Direction(input.Length);
        Check("input", Along(input, d, v => v.CopyTo(images, 0)), g.Input!, d);
    }

    [Fact]
    public void OutputsAreWInUnitsOfTheSpread()
    {
        using var encoder = new Encoder(fixture.Generator.Backend, Tiny());
        var w = encoder.Encode(fixture.Target, 1);
        using var pass = encoder.Record(fixture.Target, 1);
        Assert.Equal(w, encoder.ToW(pass.Outputs, 1));
        var back = encoder.ToOutputs(w, 1);
        for (int i = 0; i < back.Length; i++) Assert.Equal(pass.Outputs[i], back[i], 1e-4);
    }

    [Fact]
    public void RoundTripsThroughItsFile()
    {
        var weights = Tiny();
        string path = Path.Combine(_dir, EncoderWeights.FileName);
        weights.Save(path);
        var loaded = EncoderWeights.Load(path);
        Assert.Equal(weights.Config, loaded.Config);
        foreach (var (name, t) in weights.Tensors) Assert.Equal(t.Data, loaded.Tensors[name].Data);
        using var encoder = Encoder.LoadFor(path, fixture.Generator);
        using var original = new Encoder(fixture.Generator.Backend, weights);
        Assert.Equal(original.Encode(fixture.Target, 1), encoder.Encode(fixture.Target, 1));
    }

    [Fact]
    public void AnotherGeneratorsEncoderIsRefusedAndProjectionStartsFromTheMean()
    {
        var other = GeneratorWeights.Initialize(fixture.Generator.Config, seed: 11);
        Assert.NotEqual(other.ContentHash, fixture.Generator.Weights.ContentHash);
        string path = Path.Combine(_dir, EncoderWeights.FileName);
        Tiny(hash: other.ContentHash).Save(path);

        var e = Assert.Throws<InvalidDataException>(() => Encoder.LoadFor(path, fixture.Generator));
        Assert.Contains($"trained for generator {other.ContentHash[..16]}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"not for this one ({fixture.Generator.Weights.ContentHash[..16]})", e.Message, StringComparison.Ordinal);

        Assert.Null(Encoder.TryLoad(path, fixture.Generator, out var refusal));
        Assert.Equal(e.Message, refusal);
        Assert.Null(Encoder.TryLoadBeside(Path.Combine(_dir, "generator.safetensors"), fixture.Generator, out refusal));
        Assert.NotNull(refusal);
        Assert.Null(Encoder.TryLoad(Path.Combine(_dir, "none.safetensors"), fixture.Generator, out refusal));
        Assert.Null(refusal);

        using var misfit = new Encoder(fixture.Generator.Backend, Tiny(hash: other.ContentHash));
        Assert.Throws<ArgumentException>(() => new Projector(fixture.Generator, fixture.Start, misfit));
        var projector = new Projector(fixture.Generator, fixture.Start);
        Assert.False(projector.HasEncoder);
        Assert.Equal(ProjectionStart.WAvg, projector.Project(fixture.Target, new ProjectionOptions { NumSteps = 1 }, cancellation: Ct).Start);
        var asked = Assert.Throws<ArgumentException>(() => projector.Project(fixture.Target, new ProjectionOptions { NumSteps = 1, Start = ProjectionStart.Encoder }, cancellation: Ct));
        Assert.Contains("no encoder", asked.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProjectionStartsFromTheEncodersWUnlessAskedForTheMean()
    {
        using var encoder = new Encoder(fixture.Generator.Backend, Tiny());
        var projector = new Projector(fixture.Generator, fixture.Start, encoder);
        // One step at learning rate 0 (the first step of the ramp-up) leaves w where it started.
        var warm = projector.Project(fixture.Target, new ProjectionOptions { NumSteps = 1 }, cancellation: Ct);
        Assert.Equal(ProjectionStart.Encoder, warm.Start);
        Assert.Equal(encoder.Encode(fixture.Target, 1), warm.Ws);
        var cold = projector.Project(fixture.Target, new ProjectionOptions { NumSteps = 1, Start = ProjectionStart.WAvg }, cancellation: Ct);
        Assert.Equal(ProjectionStart.WAvg, cold.Start);
        Assert.Equal(fixture.Start.Mean, cold.Ws);
    }

    [Fact]
    public void BadFilesAreNamed()
    {
        string path = Path.Combine(_dir, "bad.safetensors");
        var config = Tiny().Config;
        SafeTensors.Write(path, [], new Dictionary<string, string>(config.ToMetadata()) { ["w_scale"] = "wide" });
        var e = Assert.Throws<InvalidDataException>(() => EncoderWeights.Load(path));
        Assert.Contains("'w_scale' must be a number", e.Message, StringComparison.Ordinal);
        SafeTensors.Write(path, [], config.ToMetadata());
        e = Assert.Throws<InvalidDataException>(() => EncoderWeights.Load(path));
        Assert.Contains("missing tensor 'conv0.weight'", e.Message, StringComparison.Ordinal);
        SafeTensors.Write(path, [], new Dictionary<string, string> { ["network"] = "reference_cnn" });
        e = Assert.Throws<InvalidDataException>(() => EncoderWeights.Load(path));
        Assert.Contains("not a generator's encoder", e.Message, StringComparison.Ordinal);
    }
}
