using GrpcExplain.StyleGan.Projection;
using GrpcExplain.StyleGan.Training;

namespace GrpcExplain.StyleGan.Tests.Projection;

/// <summary>The projector's parts that NVIDIA's projector.py takes from PyTorch: its noise regulariser (with autograd's gradient) and torch.optim.Adam.</summary>
public class OptimizerPartsTests
{
    [Fact]
    public void NoisePenaltyAndGradientMatchProjectorPy()
    {
        var noise = ProjectionFixture.Root.GetProperty("noise_regularization");
        var sizes = noise.GetProperty("sizes").EnumerateArray().Select(s => s.GetInt32()).ToArray();
        var layers = sizes.Select(r => new NoiseLayer($"b{r}", r)).ToList();
        var maps = layers.ToDictionary(l => l.Name, l => ProjectionFixture.Tensor($"noise.map{l.Resolution}"));
        var gradients = layers.ToDictionary(l => l.Name, l => new float[l.Resolution * l.Resolution]);
        const float Weight = 3f;
        double penalty = NoiseRegularization.Penalty(layers, maps, Weight, gradients);
        Assert.Equal(noise.GetProperty("penalty").GetDouble(), penalty, 1e-9);
        foreach (var l in layers)
        {
            var expected = ProjectionFixture.Tensor($"noise.d_map{l.Resolution}");
            double scale = expected.Max(v => Math.Abs((double)v));
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(Weight * expected[i] - gradients[l.Name][i]) <= 1e-6 * Weight * scale,
                    $"{l.Name} element {i}: {gradients[l.Name][i]:G8}, expected {Weight * expected[i]:G8}.");
        }
    }

    [Fact]
    public void NormalizedMapsHaveZeroMeanAndUnitSecondMoment()
    {
        var map = ProjectionFixture.Tensor("noise.map16").Select(v => 3 * v + 2).ToArray();
        NoiseRegularization.Normalize(map);
        Assert.Equal(0, map.Average(v => (double)v), 1e-6);
        Assert.Equal(1, map.Average(v => (double)v * v), 1e-5);
    }

    /// <summary>Float32 state on both sides; the remaining difference is rounding order.</summary>
    [Fact]
    public void AdamStepsAsTorchOptimAdam()
    {
        var lrs = ProjectionFixture.Root.GetProperty("adam").GetProperty("lrs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var p = ProjectionFixture.Tensor("adam.p0").ToArray();
        var grads = ProjectionFixture.Tensor("adam.grads");
        var adam = new Adam([p]);
        for (int t = 0; t < lrs.Length; t++) adam.Step(lrs[t], [grads.AsSpan(t * p.Length, p.Length).ToArray()]);
        var expected = ProjectionFixture.Tensor("adam.p");
        for (int i = 0; i < p.Length; i++) Assert.Equal(expected[i], p[i], 1e-6f);
    }
}
