using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Tests.Fidelity;
using GrpcExplain.StyleGan.Training;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>
/// Backward against central differences of our own forward, L = Σ logits·r, at a few entries of every
/// parameter and of the images: independent of PyTorch, and on configurations the fixtures do not
/// have (8x8, a batch of 3 in one stddev group, no clamp; a batch of 1, whose stddev is constant;
/// no stddev at all). D is piecewise linear, so a difference is exact only while no activation crosses
/// its leaky-ReLU kink within the step, and float32 rounding grows as the step shrinks: a step of 1e-2
/// was 5% off (kinks), 2e-4 6% off on another entry (rounding, or a closer kink). Each entry is tried
/// with steps 1e-3 and 3e-4 and passes when either is within 1e-2 of the tensor's largest gradient
/// element plus 2e-4.
/// </summary>
public sealed class DiscriminatorGradientCheckTests
{
    private static readonly float[] Steps = [1e-3f, 3e-4f];

    public static TheoryData<string, int> Cases => new() { { "fixture16", 6 }, { "init8", 3 }, { "init8", 1 }, { "init8_nombstd", 2 } };

    [Theory, MemberData(nameof(Cases))]
    public void BackwardMatchesCentralDifferences(string which, int n)
    {
        var weights = which == "fixture16" ? DiscriminatorFixture.Get(DiscriminatorFixture.Rgb16).Weights : RandomWeights(which == "init8_nombstd");
        var config = weights.Config;
        using var backend = FidelityBackends.Create(FidelityBackends.Selected[0]);
        using var d = new Discriminator(backend, weights);
        var rng = new Random(5);
        var x = Generator.TinyGenerators.Normal(rng, n * config.ImgChannels * config.ImgResolution * config.ImgResolution).Select(v => 0.5f * v).ToArray();
        var r = Generator.TinyGenerators.Normal(rng, n);
        DiscriminatorGradients grads;
        using (var pass = d.Record(x, n)) grads = pass.Backward(r);

        double Loss(float[] images) => d.Forward(images, n).Select((v, i) => (double)v * r[i]).Sum();
        double[] Central(float[] values, int at, Action apply)
        {
            float keep = values[at];
            var fd = new double[Steps.Length];
            for (int s = 0; s < Steps.Length; s++)
            {
                values[at] = keep + Steps[s];
                apply();
                double plus = Loss(x);
                values[at] = keep - Steps[s];
                apply();
                double minus = Loss(x);
                // The step actually taken, after rounding keep ± step to float32.
                fd[s] = (plus - minus) / ((double)(keep + Steps[s]) - (keep - Steps[s]));
            }
            values[at] = keep;
            apply();
            return fd;
        }

        CheckEntries("images", grads.Images!, rng, at => Central(x, at, () => { }));
        foreach (var (name, _) in config.ParameterShapes())
        {
            var values = (float[])weights[name].Data.Clone();
            CheckEntries(name, grads.Parameters![name], rng, at => Central(values, at, () => d.SetParameters(new Dictionary<string, float[]> { [name] = values })));
        }
    }

    private static void CheckEntries(string what, float[] ours, Random rng, Func<int, double[]> central)
    {
        double scale = Fidelity.Fidelity.MaxAbs(ours), tolerance = 1e-2 * scale + 2e-4;
        foreach (int at in Enumerable.Range(0, 4).Select(_ => rng.Next(ours.Length)).Append(Array.IndexOf(ours, ours.MaxBy(Math.Abs))))
        {
            var fd = central(at);
            Assert.True(fd.Any(v => Math.Abs(v - ours[at]) <= tolerance),
                $"{what}[{at}]: backward {ours[at]:G6}, central differences {string.Join(", ", fd.Select(v => v.ToString("G6")))} " +
                $"(steps {string.Join(", ", Steps)}), tolerance {tolerance:G3} (max |grad| {scale:G3}).");
        }
    }

    /// <summary>8x8 RGB, channels 4 and 6, NVIDIA's weights with random biases; without mbstd when asked.</summary>
    internal static DiscriminatorWeights RandomWeights(bool noMbstd)
    {
        var config = new DiscriminatorConfig(ImgResolution: 8, ImgChannels: 3, ChannelBase: 32, ChannelMax: 6, MbstdNumChannels: noMbstd ? 0 : 1);
        var init = DiscriminatorWeights.Initialize(config, seed: 3);
        var rng = new Random(4);
        // NVIDIA starts every bias at 0; random ones make a dropped bias term show.
        var tensors = init.Tensors.ToDictionary(p => p.Key, p => p.Key.EndsWith(".bias", StringComparison.Ordinal)
            ? new HostTensor(p.Value.Shape, [.. Generator.TinyGenerators.Normal(rng, p.Value.Data.Length).Select(v => 0.2f * v)]) : p.Value);
        return DiscriminatorWeights.FromTensors(config, tensors);
    }
}
