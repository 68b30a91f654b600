namespace GrpcExplain.StyleGan.Tests.Fidelity;

/// <summary>
/// The latent gradients of L = Σ img·r against PyTorch's float64 autograd on the same float32
/// weights: dL/dW+, dL/dw (one w read by every layer, so the layers' gradients summed), dL/dz
/// through the mapping (MappingGradient), and dL/d(noise_const) of every conv layer, summed over
/// the batch. Ours run in float32, so the bar is relative to the gradient's size; the image of the
/// recorded pass is held to the forward bar against the float64 image.
/// </summary>
public class GradientFidelityTests(GeneratorCache generators) : IClassFixture<GeneratorCache>
{
    private const string NoisePrefix = "d_noise_const.";

    public static TheoryData<string, string, string> Cases => Fixture.Rows(ForwardFidelityTests.Generated, c => c.Kind == "gradient");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesFloat64Autograd(string fixture, string @case, string backend)
    {
        var f = Fixture.Get(fixture);
        var c = f.Case(@case);
        var g = generators.Get(f, backend);
        string where = $"{fixture}/{@case} on {backend}";
        int n = f.Batch(c);
        var z = c.LatentSpace == "z" ? f.Input(c, "z") : null;
        var cls = f.OptionalInput(c, "c");
        var latent = c.LatentSpace switch
        {
            "z" => g.Map(z!, n, cls, c.Psi, c.Cutoff),
            "w" => f.Input(c, "w"),
            _ => f.Input(c, "ws"),
        };
        using var pass = g.Forward(latent, n, c.Noise);
        Fidelity.AssertClose($"{where}: image against the float64 image", f.Output(c, "img64"), pass.Images, Fidelity.ForwardTolerance);

        var noiseLayers = c.Outputs.Keys.Where(k => k.StartsWith(NoisePrefix, StringComparison.Ordinal)).Select(k => k[NoisePrefix.Length..]).ToList();
        var grad = pass.Backward(f.Input(c, "r"), noise: noiseLayers.Count > 0);
        var (key, ours) = c.LatentSpace switch
        {
            "z" => ("d_z", g.MappingGradient(z!, n, grad.Ws, cls, c.Psi, c.Cutoff)),
            "w" => ("d_w", grad.Ws),
            _ => ("d_ws", grad.Ws),
        };
        CheckGradient(where, key, f.Output(c, key), ours);
        if (noiseLayers.Count == 0) return;
        Assert.Equal(noiseLayers.Order(StringComparer.Ordinal), grad.Noise!.Keys.Order(StringComparer.Ordinal));
        foreach (var layer in noiseLayers)
            CheckGradient(where, NoisePrefix + layer, f.Output(c, NoisePrefix + layer), grad.Noise[layer]);
    }

    private static void CheckGradient(string where, string what, float[] expected, float[] ours) =>
        Fidelity.Report(where, what + ", max error / max |g|", Fidelity.AssertGradient($"{where}: {what} against float64 autograd", expected, ours));
}
