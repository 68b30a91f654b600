namespace GrpcExplain.StyleGan.Tests.Fidelity;

/// <summary>
/// Weights trained elsewhere and converted by tools/convert give the source model's own images
/// (NVIDIA's forward for a stylegan2-ada-pytorch pickle, rosinality's fused grouped convolutions
/// for its checkpoint), to the same 1e-3, on every backend: the converters' name and layout
/// mapping, w_avg and truncation as each source applies them, end to end through our generator
/// (every case on the CPU backends, one per model on the ILGPU emulator).
/// </summary>
public class ConvertedWeightsTests(GeneratorCache generators) : IClassFixture<GeneratorCache>
{
    public static readonly string[] Converted = ["converted_nvidia_rgb32_cond", "converted_rosinality_rgb32"];

    public static TheoryData<string, string, string> Cases => Fixture.Rows(Converted, _ => true);

    [Theory, MemberData(nameof(Cases))]
    public void MatchesTheSourceModel(string fixture, string @case, string backend) =>
        Fidelity.CheckForward(generators, fixture, @case, backend);
}
