namespace GrpcExplain.StyleGan.Tests.Fidelity;

/// <summary>
/// The issue's faithfulness bar: for PyTorch's fixtures (tools/stylegan2/make_fixtures.py: random
/// generators with every bias, noise strength and w_avg non-trivial), our ws and images match
/// NVIDIA's float32 generator to 1e-3, for z, w and W+ inputs, truncation with and without a
/// cutoff, and noise modes const and none, on every backend (the ILGPU emulator on the subset
/// <see cref="FidelityBackends.Runs"/> names).
/// </summary>
public class ForwardFidelityTests(GeneratorCache generators) : IClassFixture<GeneratorCache>
{
    public static readonly string[] Generated = ["grey32", "rgb64_cond", "clamp16"];

    public static TheoryData<string, string, string> Cases => Fixture.Rows(Generated, c => c.Kind == "forward");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string fixture, string @case, string backend) =>
        Fidelity.CheckForward(generators, fixture, @case, backend);

    /// <summary>A regenerated fixture that lost a kind of case would otherwise just run fewer rows.</summary>
    [Fact]
    public void FixturesHoldEveryKindOfCaseTheIssueAsksFor()
    {
        foreach (var f in Generated.Select(Fixture.Get))
        {
            var forward = f.Cases.Where(c => c.Kind == "forward").ToList();
            var gradient = f.Cases.Where(c => c.Kind == "gradient").ToList();
            Assert.Equal(f.Cases.Count, forward.Count + gradient.Count);
            Assert.Equal(["w", "wplus", "z"], forward.Select(c => c.LatentSpace).Distinct().Order(StringComparer.Ordinal));
            Assert.Equal(["w", "wplus", "z"], gradient.Select(c => c.LatentSpace).Distinct().Order(StringComparer.Ordinal));
            Assert.Contains(forward, c => c.Psi != 1f && c.Cutoff is null);
            Assert.Contains(forward, c => c.Psi != 1f && c.Cutoff is not null);
            Assert.Contains(forward, c => c.Noise == NoiseMode.None);
            int noiseLayers = f.Weights.Config.TensorShapes().Count(p => p.Name.EndsWith(".noise_const", StringComparison.Ordinal));
            Assert.Contains(gradient, c => c.Outputs.Keys.Count(k => k.StartsWith("d_noise_const.", StringComparison.Ordinal)) == noiseLayers);
        }
    }
}
