using GrpcExplain.Kernels;
using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

/// <summary>Networks small enough that a training step takes milliseconds: 8x8, 8-16 channels, batch 4.</summary>
internal static class TinyGan
{
    public static GanConfig Config(int channels = 1) => new()
    {
        Data = "/nonexistent/tiny",
        Resolution = 8, Channels = channels, ZDim = 8, WDim = 8, MappingLayers = 2, ChannelBase = 64, ChannelMax = 16,
        Batch = 4, Gamma = 1, R1Interval = 2, AdaKimg = 0.1, Seed = 7,
    };

    public static Backend Backend() => new CpuBackend();

    /// <summary>A fixed minibatch of smooth patterns in [-1, 1], different for each step.</summary>
    public static float[] Reals(GanConfig config, long step)
    {
        int r = config.Resolution, plane = r * r;
        var images = new float[config.Batch * config.Channels * plane];
        for (int n = 0; n < config.Batch; n++)
            for (int c = 0; c < config.Channels; c++)
                for (int y = 0; y < r; y++)
                    for (int x = 0; x < r; x++)
                        images[((n * config.Channels + c) * r + y) * r + x] = MathF.Tanh(MathF.Sin(0.7f * x + 0.3f * (n + step)) * MathF.Cos(0.5f * y - c) * 1.5f);
        return images;
    }
}
