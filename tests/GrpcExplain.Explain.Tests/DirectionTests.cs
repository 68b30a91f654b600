using GrpcExplain.Explain.Directions;
using GrpcExplain.Explain.Generation;

namespace GrpcExplain.Explain.Tests;

/// <summary>Each direction method, on a classifier built to depend on a known direction d in W: each must find d.</summary>
public class DirectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheLinearProbeRecoversTheDirectionTheClassifierDependsOn()
    {
        var d = TestVectors.Unit(1, LinearGenerator.WDim);
        var generator = new LinearGenerator(maxBatchSize: 64);
        var classifier = new DirectionClassifier(d);
        var stages = new List<FitProgress>();
        var probe = await LinearProbeDirection.FitAsync(generator, classifier, 1, new ProbeSettings(NumSamples: 500, HeldOutFraction: 0.2, Seed: 3),
            (p, _) => { stages.Add(p); return ValueTask.CompletedTask; }, Ct);

        Assert.True(TestVectors.Cosine(probe.Direction, d) > 0.98, $"cos(probe, d) = {TestVectors.Cosine(probe.Direction, d)}");
        Assert.Equal(1, Math.Sqrt(probe.Direction.Sum(v => (double)v * v)), 5);
        // Labels come from a noiseless logistic of d·w, so held-out samples are almost all right.
        Assert.True(probe.HeldOutAccuracy > 0.9, $"accuracy {probe.HeldOutAccuracy}");
        Assert.True(probe.HeldOutAuc > 0.97, $"AUC {probe.HeldOutAuc}");
        Assert.Equal(500, probe.NumTrain + probe.NumHeldOut);
        Assert.Equal(100, probe.NumHeldOut);
        Assert.StartsWith("the classifier's decision", probe.Labelling, StringComparison.Ordinal);
        Assert.Equal(500, classifier.ImagesClassified);
        Assert.Equal(["sampling", "classifying", "fitting"], stages.Select(s => s.Stage).Distinct());
        Assert.Equal(500, stages.Last(s => s.Stage == "classifying").SamplesDone);
    }

    [Fact]
    public async Task TheProbeForTheOtherClassPointsTheOtherWay()
    {
        var d = TestVectors.Unit(2, LinearGenerator.WDim);
        var probe = await LinearProbeDirection.FitAsync(new LinearGenerator(), new DirectionClassifier(d), 0, new ProbeSettings(NumSamples: 200), null, Ct);
        Assert.True(TestVectors.Cosine(probe.Direction, d) < -0.95);
    }

    [Fact]
    public async Task AClassTheClassifierRarelyPredictsIsProbedByAMedianSplit()
    {
        // Offset 3: class "towards" needs d·w > 3, three standard deviations out; a few samples at most.
        var d = TestVectors.Unit(4, LinearGenerator.WDim);
        var probe = await LinearProbeDirection.FitAsync(new LinearGenerator(), new DirectionClassifier(d, offset: 3), 1, new ProbeSettings(NumSamples: 300), null, Ct);
        Assert.Contains("above its median", probe.Labelling, StringComparison.Ordinal);
        Assert.True(TestVectors.Cosine(probe.Direction, d) > 0.95);
    }

    [Fact]
    public async Task AClassifierThatNeverChangesItsMindHasNoDirection()
    {
        var flat = new DirectionClassifier(new float[LinearGenerator.WDim]);
        var e = await Assert.ThrowsAsync<ProbeException>(() => LinearProbeDirection.FitAsync(new LinearGenerator(), flat, 1, new ProbeSettings(NumSamples: 50), null, Ct));
        Assert.Contains("same probability", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheWhiteBoxGradientIsTheDirectionInTheLatentsShape(bool wPlus)
    {
        var d = TestVectors.Unit(5, LinearGenerator.WDim);
        var w = new Latents([.. TestVectors.Unit(6, LinearGenerator.WDim * (wPlus ? 2 : 1))], 1, LinearGenerator.WDim, wPlus ? LinearGenerator.NumWs : 0);
        var direction = await GradientDirection.WhiteBoxAsync(new LinearGenerator(), new DirectionClassifier(d), w, 1, Ct);
        Assert.Equal(w.RowLength, direction.Length);
        // In W+ each layer gets d / √2 (the image reads the layers' mean).
        var firstLayer = direction.AsSpan(0, LinearGenerator.WDim).ToArray();
        Assert.True(TestVectors.Cosine(firstLayer, d) > 0.9999);
        Assert.Equal(wPlus ? Math.Sqrt(0.5) : 1, Math.Sqrt(firstLayer.Sum(v => (double)v * v)), 5);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheBlackBoxEstimateFindsTheDirectionFromClassifierCallsAlone(bool wPlus)
    {
        var d = TestVectors.Unit(7, LinearGenerator.WDim);
        var classifier = new DirectionClassifier(d);
        var w = wPlus ? new Latents(new float[2 * LinearGenerator.WDim], 1, LinearGenerator.WDim, LinearGenerator.NumWs) : new Latents(new float[LinearGenerator.WDim], 1, LinearGenerator.WDim);
        var direction = await GradientDirection.BlackBoxEstimateAsync(new LinearGenerator(maxBatchSize: 8), classifier, w, 1, probes: 64, radius: 0.5f, seed: 1, Ct);
        Assert.Equal(LinearGenerator.WDim, direction.Length);
        // Near w = 0 the logit is linear in w, so each antithetic pair measures u·d exactly; 64 of 16 dimensions pin d down.
        Assert.True(TestVectors.Cosine(direction, d) > 0.999, $"cos = {TestVectors.Cosine(direction, d)}");
        Assert.Equal(128, classifier.ImagesClassified);
    }
}
