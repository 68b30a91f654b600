using GrpcExplain.StyleGan.Tests.Fidelity;
using Compare = GrpcExplain.StyleGan.Tests.Fidelity.Fidelity;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>
/// The discriminator against NVIDIA's, as tools/stylegan2/discriminator_reference.py computes it: the
/// logits against PyTorch's float32 forward (1e-3 absolute), and the gradients of L = Σ logits·r with
/// respect to the images and every parameter against float64 autograd (1e-3 of the largest element),
/// on every backend (ILGPU's CPU emulator on the 16x16 fixture).
/// </summary>
public sealed class DiscriminatorFidelityTests(DiscriminatorCache discriminators) : IClassFixture<DiscriminatorCache>
{
    public static TheoryData<string, string> Rows => DiscriminatorCache.Rows(emulator: true);

    [Theory, MemberData(nameof(Rows))]
    public void ForwardAndBackwardMatchPyTorch(string fixture, string backend)
    {
        var f = DiscriminatorFixture.Get(fixture);
        var d = discriminators.Get(fixture, backend);
        backend = $"{fixture} on {backend}";
        using var pass = d.Record(f["inputs.img"], f.Batch);
        Compare.Report(backend, "logits, max error", Compare.AssertClose($"{backend}: logits", f["logits"], pass.Logits, Compare.ForwardTolerance));
        Compare.AssertClose($"{backend}: logits against float64", f["logits64"], pass.Logits, Compare.ForwardTolerance);

        var grads = pass.Backward(f["inputs.r"]);
        Check(backend, "d_img", f["d_img"], grads.Images!);
        Assert.Equal(f.Parameters.Order(StringComparer.Ordinal), grads.Parameters!.Keys.Order(StringComparer.Ordinal));
        foreach (var name in f.Parameters) Check(backend, "d." + name, f["d." + name], grads.Parameters![name]);
    }

    [Fact]
    public void ForwardWithoutTapeGivesTheRecordedLogits()
    {
        var f = DiscriminatorFixture.Get(DiscriminatorFixture.Grey32);
        var d = discriminators.Get(f.Name, FidelityBackends.Selected[0]);
        using var pass = d.Record(f["inputs.img"], f.Batch);
        Assert.Equal(pass.Logits, d.Forward(f["inputs.img"], f.Batch));
        var onlyImages = pass.Backward(f["inputs.r"], parameters: false);
        Assert.Null(onlyImages.Parameters);
        Assert.Equal(pass.Backward(f["inputs.r"]).Images, onlyImages.Images);
        Assert.Null(pass.Backward(f["inputs.r"], images: false).Images);
        Assert.Throws<ArgumentException>(() => pass.Backward([1f]));
        pass.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pass.Backward(f["inputs.r"]));
    }

    private static void Check(string backend, string what, float[] expected, float[] ours) =>
        Compare.Report(backend, what + ", max error / max |g|", Compare.AssertGradient($"{backend}: {what} against float64 autograd", expected, ours));
}
