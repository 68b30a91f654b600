using System.Diagnostics;
using GrpcExplain.Kernels;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

/// <summary>
/// Opt-in (GRPCEXPLAIN_GAN_BENCH=1): milliseconds per phase of a 64x64 minibatch on the CPU backend for a
/// few network sizes, to choose a default a CPU run can afford. Timings, so never part of the normal run.
/// </summary>
public sealed class GanSpeedTests
{
    [Theory]
    [InlineData(4096, 256, 16)]
    [InlineData(2048, 128, 16)]
    [InlineData(2048, 128, 32)]
    [InlineData(2048, 64, 16)]
    [InlineData(1024, 64, 16)]
    public void PhasesOfA64x64Minibatch(int channelBase, int channelMax, int batch)
    {
        Assert.SkipUnless(Environment.GetEnvironmentVariable("GRPCEXPLAIN_GAN_BENCH") == "1", "a timing benchmark: set GRPCEXPLAIN_GAN_BENCH=1 to run it");
        var config = new GanConfig { Data = "-", Resolution = 64, Channels = 3, ChannelBase = channelBase, ChannelMax = channelMax, Batch = batch, Seed = 1 }
            with { Gamma = GanConfig.AutoGamma(64, batch) };
        using var backend = Backends.Create(BackendKind.Cpu);
        using var trainer = new GanTrainer(backend, GanTrainer.Initial(config) with { Ada = new(0.3, 0, 0, 0) });
        var reals = new float[batch * 3 * 64 * 64];
        var random = new Random(1);
        for (int i = 0; i < reals.Length; i++) reals[i] = (float)(random.NextDouble() * 2 - 1);
        double Time(Action a, int repeats)
        {
            a(); // warm-up
            var clock = Stopwatch.StartNew();
            for (int r = 0; r < repeats; r++) a();
            return clock.Elapsed.TotalMilliseconds / repeats;
        }
        double g = Time(() => trainer.GeneratorStep(1), 3);
        double d = Time(() => trainer.DiscriminatorStep(1, reals), 3);
        double r1 = Time(() => trainer.RegularizationStep(1, reals), 2);
        double perBatch = g + d + r1 / config.R1Interval;
        TestContext.Current.TestOutputHelper!.WriteLine(
            $"channel_base {channelBase}, channel_max {channelMax}, batch {batch}: Gmain {g:F0} ms, Dmain {d:F0} ms, Dreg {r1:F0} ms (every {config.R1Interval}); " +
            $"{batch * 1000 / perBatch:F1} images/s, {batch * 3.6 / perBatch * 1000:F0} kimg/h ({Environment.ProcessorCount} cores)");
    }
}
