using GrpcExplain.StyleGan.Tests.Fidelity;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>
/// Training's generator backward against PyTorch's float64 autograd (Fixtures/train16, from
/// tools/stylegan2/make_parameter_gradient_fixture.py): z and c → mapping (psi 1) → synthesis with
/// const noise, L = Σ img·r; dL/d(every trainable parameter) from
/// <see cref="SynthesisPass.ParameterBackward"/> and <see cref="StyleGan.Generator.MappingParameterGradient"/>,
/// and dL/dws per layer, each within 1e-3 of its largest element, on every selected backend
/// (the 16x16, 4-channel generator is cheap enough for ILGPU's CPU emulator).
/// </summary>
public class GeneratorParameterGradientTests(GeneratorCache generators) : IClassFixture<GeneratorCache>
{
    private const string FixtureName = "train16", CaseName = "grad_parameters_z_const";

    public static TheoryData<string> Backends => [.. FidelityBackends.Selected];

    [Theory, MemberData(nameof(Backends))]
    public void EveryParameterGradientMatchesFloat64Autograd(string backend)
    {
        var f = Fixture.Get(FixtureName);
        var c = f.Case(CaseName);
        var g = generators.Get(f, backend);
        string where = $"{FixtureName} on {backend}";
        int n = f.Batch(c);
        float[] z = f.Input(c, "z"), cls = f.Input(c, "c");

        using var pass = g.Forward(g.Map(z, n, cls), n, NoiseMode.Const);
        Fidelity.Fidelity.AssertClose($"{where}: image against PyTorch", f.Output(c, "img"), pass.Images, Fidelity.Fidelity.ForwardTolerance);
        var synthesis = pass.ParameterBackward(f.Input(c, "r"));
        Check(where, "d_ws", f.Output(c, "d_ws"), synthesis.Ws);
        var mapping = g.MappingParameterGradient(z, n, synthesis.Ws, cls);

        Assert.Empty(synthesis.Parameters.Keys.Intersect(mapping.Keys));
        var all = synthesis.Parameters.Concat(mapping).ToDictionary();
        Assert.Equal(g.Config.ParameterShapes().Select(p => p.Name).Order(StringComparer.Ordinal), all.Keys.Order(StringComparer.Ordinal));
        Assert.All(mapping.Keys, k => Assert.StartsWith("mapping.", k, StringComparison.Ordinal));
        foreach (var (name, _) in g.Config.ParameterShapes())
            Check(where, "d." + name, f.Output(c, "d." + name), all[name]);
    }

    [Theory, MemberData(nameof(Backends))]
    public void TheLatentPathGivesTheSameWsGradientBeforeAndAfter(string backend)
    {
        var f = Fixture.Get(FixtureName);
        var c = f.Case(CaseName);
        var g = generators.Get(f, backend);
        int n = f.Batch(c);
        var r = f.Input(c, "r");
        using var pass = g.Forward(g.Map(f.Input(c, "z"), n, f.Input(c, "c")), n, NoiseMode.Const);
        var before = pass.Backward(r);
        var withParameters = pass.ParameterBackward(r);
        var after = pass.Backward(r);
        Assert.Equal(before.Ws, withParameters.Ws);
        Assert.Equal(before.Ws, after.Ws);
        Assert.Null(after.Noise);
    }

    private static void Check(string where, string what, float[] expected, float[] ours) =>
        Fidelity.Fidelity.Report(where, what + ", max error / max |g|",
            Fidelity.Fidelity.AssertGradient($"{where}: {what} against float64 autograd", expected, ours));
}
