using GrpcExplain.StyleGan.Training;
using Compare = GrpcExplain.StyleGan.Tests.Fidelity.Fidelity;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>
/// R1 against the exact value, PyTorch's float64 double backward (torch.autograd.grad(create_graph=True))
/// on the same weights and images: the penalty per sample, and ∇θ ½Σ‖∇ₓΣD‖² for every parameter, by
/// our forward-over-reverse (1e-3 of the largest element, as the first-order gradients) and by the
/// finite-difference Hessian-vector product (2e-2 of the largest exact element, taken over all
/// parameters together: what float32 central differences at the default step reach; PyTorch's own
/// float32 estimate is 8e-3 off there).
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

    /// <summary>The forward-over-reverse gradient is exact: held to the first-order gradients' bar, 1e-3 of the largest element.</summary>
    [Theory, MemberData(nameof(ExactRows))]
    public void ExactGradientMatchesDoubleBackward(string fixture, string backend)
    {
        var f = DiscriminatorFixture.Get(fixture);
        var d = discriminators.Get(fixture, backend);
        backend = $"{fixture} on {backend}";
        var r1 = R1Regularization.ComputeExact(d, f["inputs.img"], f.Batch);
        Compare.AssertGradient($"{backend}: R1 penalty per sample", f["r1_penalty"], r1.Penalty);
        double scale = f.Parameters.Max(p => Compare.MaxAbs(f["r1." + p]));
        double worst = 0;
        foreach (var name in f.Parameters)
            worst = Math.Max(worst, Compare.AssertClose($"{backend}: exact R1 gradient of {name}", f["r1." + name], r1.Gradient[name], Compare.GradientRelativeTolerance * scale) / scale);
        Compare.Report(backend, "exact R1 gradient, worst error / max |exact|", worst);
    }

    public static TheoryData<string, string> ExactRows => DiscriminatorCache.Rows(emulator: true);

    /// <summary>Where no fixture reaches (a batch of 1, whose stddev has no gradient; one group of 3; no mbstd): the two methods agree.</summary>
    [Theory]
    [InlineData(3, false)]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public void ExactAndFiniteDifferenceAgree(int n, bool noMbstd)
    {
        var weights = DiscriminatorGradientCheckTests.RandomWeights(noMbstd);
        using var backend = Fidelity.FidelityBackends.Create(Fidelity.FidelityBackends.Selected[0]);
        using var d = new Discriminator(backend, weights);
        var x = Generator.TinyGenerators.Normal(new Random(8), n * 3 * 8 * 8).Select(v => 0.5f * v).ToArray();
        var exact = R1Regularization.ComputeExact(d, x, n);
        var fd = R1Regularization.Compute(d, x, n);
        Assert.Equal(0, fd.KinkCrossings);
        Assert.Equal(exact.Penalty, fd.Penalty);
        double scale = exact.Gradient.Values.Max(Compare.MaxAbs);
        Assert.True(scale > 0);
        foreach (var (name, g) in exact.Gradient)
            Compare.AssertClose($"n={n}, mbstd {!noMbstd}: {name}, differences against exact", g, fd.Gradient[name], HvpTolerance * scale);
    }

    [Fact]
    public void TooLargeAStepCrossesKinksAndSaysSo()
    {
        var f = DiscriminatorFixture.Get(DiscriminatorFixture.Grey32);
        var r1 = R1Regularization.Compute(discriminators.Get(f.Name, Fidelity.FidelityBackends.Selected[0]), f["inputs.img"], f.Batch, relativeStep: 1e-2);
        Assert.True(r1.KinkCrossings > 0, "a step of 1% of |x| should move some activations across their kink");
    }
}
