using GrpcExplain.Kernels.Cpu;
using GrpcExplain.StyleGan.Encoding;
using GrpcExplain.StyleGan.Projection;
using GrpcExplain.StyleGan.Weights;
using GrpcExplain.Training.Encoder;
using GrpcExplain.Training.Gan;
using StyleGanEncoder = GrpcExplain.StyleGan.Encoding.Encoder;
using StyleGanGenerator = GrpcExplain.StyleGan.Generator;

namespace GrpcExplain.Training.Tests.Encoder;

/// <summary>
/// An encoder trained for a few seconds on the grey32 fixture generator's own samples: it learns (its w
/// error and image error on held-out samples fall), its w reconstructs those samples better than the mean w does, and
/// projection warm-started from it ends closer than projection from the mean after as many steps.
/// </summary>
public sealed class EncoderTrainerTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly EncoderTrainingOptions Options = new(Samples: 1536, Minutes: 10, Batch: 16, LearningRate: 5e-3, Seed: 0, Channels: [8, 16, 16], EvaluationSamples: 16);

    private readonly CpuBackend _backend = new();
    private readonly StyleGanGenerator _generator;

    public EncoderTrainerTests() =>
        _generator = new StyleGanGenerator(_backend, GeneratorWeights.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "grey32", "generator.safetensors")));

    public void Dispose()
    {
        _generator.Dispose();
        _backend.Dispose();
    }

    [Fact]
    public void TrainingLearnsTheLatentsAndTheEncoderStartBeatsTheMean()
    {
        var statistics = WStatistics.Sample(_generator, cancellation: Ct);
        var config = EncoderConfig.For(_generator, statistics.Std / MathF.Sqrt(_generator.Config.WDim), Options.Channels);
        using var untrained = new StyleGanEncoder(_backend, EncoderWeights.Initialize(config, statistics.Mean, Options.Seed));
        var before = EncoderEvaluation.Measure(_generator, untrained, Options.EvaluationSamples, cancellation: Ct);

        var progress = new List<EncoderTrainingProgress>();
        var result = EncoderTrainer.Train(_generator, Options, progress.Add, Ct);
        Assert.Equal(Options.Samples, result.Samples);
        Assert.False(result.StoppedByTime);
        Assert.Equal(Options.Samples / Options.Batch, progress.Count);
        Assert.Equal(_generator.Weights.ContentHash, result.Weights.Config.GeneratorSha256);

        using var encoder = new StyleGanEncoder(_backend, result.Weights);
        var after = EncoderEvaluation.Measure(_generator, encoder, Options.EvaluationSamples, cancellation: Ct);
        // The pixel term (on by default) spends the encoder on the directions of w that show in the image,
        // so the w error falls less than the image error.
        Assert.True(after.WMeanSquaredError < 0.95 * before.WMeanSquaredError, $"w error {before.WMeanSquaredError:F3} before training, {after.WMeanSquaredError:F3} after");
        Assert.True(after.Generated.PsnrDb > before.Generated.PsnrDb + 1.5, $"G(E(x)) {before.Generated.PsnrDb:F2} dB before training, {after.Generated.PsnrDb:F2} dB after");
        Assert.True(after.Generated.PsnrDb > after.GeneratedFromWAvg.PsnrDb + 1,
            $"G(E(x)) {after.Generated.PsnrDb:F2} dB against G(w_avg) {after.GeneratedFromWAvg.PsnrDb:F2} dB on held-out samples");

        // Held-out targets the generator made (exactly reachable): 10 steps from each start.
        var (_, targets) = EncoderTrainer.Draw(_generator, new Random(99), 4);
        int length = targets.Length / 4;
        var warm = new Projector(_generator, statistics, encoder);
        var cold = new Projector(_generator, statistics);
        var options = new ProjectionOptions { NumSteps = 10 };
        double warmPsnr = 0, coldPsnr = 0;
        for (int i = 0; i < 4; i++)
        {
            var target = Array.ConvertAll(targets[(i * length)..((i + 1) * length)], v => Math.Clamp(v, -1f, 1f));
            var fromEncoder = warm.Project(target, options, cancellation: Ct);
            var fromMean = cold.Project(target, options, cancellation: Ct);
            Assert.Equal(ProjectionStart.Encoder, fromEncoder.Start);
            Assert.Equal(ProjectionStart.WAvg, fromMean.Start);
            warmPsnr += fromEncoder.PsnrDb / 4;
            coldPsnr += fromMean.PsnrDb / 4;
        }
        Assert.True(warmPsnr > coldPsnr, $"10 steps from the encoder: {warmPsnr:F2} dB; from the mean w: {coldPsnr:F2} dB");
    }

    [Fact]
    public void ThePixelTermsGradientMatchesFiniteDifferences()
    {
        var statistics = WStatistics.Stored(_generator);
        var config = EncoderConfig.For(_generator, 0.5f, [4, 8]);
        using var encoder = new StyleGanEncoder(_backend, EncoderWeights.Initialize(config, statistics.Mean, 1));
        var rng = new Random(3);
        int n = 2, d = config.WDim;
        var outputs = TrainingDraws.Gaussian(rng, n * d);
        var (_, images) = EncoderTrainer.Draw(_generator, rng, n);
        var gradient = new float[n * d];
        EncoderTrainer.PixelTerm(_generator, encoder, outputs, images, n, gradient, weight: 1);
        double At(float[] o) => EncoderTrainer.PixelTerm(_generator, encoder, o, images, n, new float[n * d], weight: 1);
        var u = TrainingDraws.Gaussian(rng, n * d);
        const float Eps = 1e-2f;
        double fd = (At([.. outputs.Select((v, i) => v + Eps * u[i])]) - At([.. outputs.Select((v, i) => v - Eps * u[i])])) / (2 * Eps);
        double analytic = gradient.Select((g, i) => (double)g * u[i]).Sum();
        Assert.True(Math.Abs(fd) > 1e-3, $"the direction should change the pixel error (finite difference {fd})");
        Assert.True(Math.Abs(fd - analytic) <= 1e-4 + 2e-2 * Math.Abs(fd), $"backward {analytic}, finite difference {fd}");
    }

    [Fact]
    public void RegressionLossAndGradientAreTheMeanSquare()
    {
        double loss = EncoderTrainer.Regression([1f, -1f, 0.5f, 0f], [0f, 1f, 0.5f, 2f], out var gradient);
        Assert.Equal((1 + 4 + 0 + 4) / 4.0, loss, 12);
        Assert.Equal([0.5f, -1f, 0f, -1f], gradient);
    }

    [Theory]
    [InlineData(0, 15, 16, 1e-3, "at least one sample")]
    [InlineData(10, 0, 16, 1e-3, "positive minutes")]
    [InlineData(10, 15, 0, 1e-3, "1 to 256 samples")]
    [InlineData(10, 15, 16, -1, "learning rate must be positive")]
    public void BadOptionsAreNamed(int samples, double minutes, int batch, double lr, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => EncoderTrainer.Train(_generator, new EncoderTrainingOptions(samples, minutes, batch, lr), cancellation: Ct));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
