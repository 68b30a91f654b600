using GrpcExplain.StyleGan.Training;
using Compare = GrpcExplain.StyleGan.Tests.Fidelity.Fidelity;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>
/// R1 by the finite-difference Hessian-vector product against the exact value, PyTorch's float64 double
/// backward (torch.autograd.grad(create_graph=True)) on the same weights and images: the penalty per
/// sample, and ∇θ ½Σ‖∇ₓΣD‖² for every parameter. The bar for the latter is what float32 central
/// differences at the default step reach (PyTorch's own float32 estimate is 8e-3 off there): 2e-2 of
/// the largest exact element, taken over all parameters together.
/// </summary>
public sealed class R1RegularizationTests(DiscriminatorCache discriminators) : IClassFixture<DiscriminatorCache>
{
    private const double HvpTolerance = 2e-2;

    public static TheoryData<string, string> Rows => DiscriminatorCache.Rows(emulator: false);

    [Theory, MemberData(nameof(Rows))]
    public void FiniteDifferenceHvpMatchesDoubleBackward(string fixture, string backend)
    {
        var f = DiscriminatorFixture.Get(fixture);
        var d = discriminators.Get(fixture, backend);
        backend = $"{fixture} on {backend}";
        var r1 = R1Regularization.Compute(d, f["inputs.img"], f.Batch);

        Compare.AssertGradient($"{backend}: R1 penalty per sample", f["r1_penalty"], r1.Penalty);
        Assert.Equal(0, r1.KinkCrossings);
        Assert.True(r1.Epsilon > 0);
        double scale = f.Parameters.Max(p => Compare.MaxAbs(f["r1." + p]));
        double worst = 0;
        foreach (var name in f.Parameters)
        {
            var err = Compare.AssertClose($"{backend}: R1 gradient of {name}", f["r1." + name], r1.Gradient[name], HvpTolerance * scale);
            Compare.Report(backend, $"r1.{name}, max error / max |exact| over all parameters", err / scale);
            worst = Math.Max(worst, err / scale);
        }
        Compare.Report(backend, $"R1 gradient (eps {r1.Epsilon:G3}), worst error / max |exact|", worst);
    }

    [Fact]
    public void TooLargeAStepCrossesKinksAndSaysSo()
    {
        var f = DiscriminatorFixture.Get(DiscriminatorFixture.Grey32);
        var r1 = R1Regularization.Compute(discriminators.Get(f.Name, Fidelity.FidelityBackends.Selected[0]), f["inputs.img"], f.Batch, relativeStep: 1e-2);
        Assert.True(r1.KinkCrossings > 0, "a step of 1% of |x| should move some activations across their kink");
    }
}
