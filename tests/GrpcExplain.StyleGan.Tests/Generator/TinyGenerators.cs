using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Generator;

/// <summary>Small random-weight generators with every parameter non-trivial (noise strengths and biases too).</summary>
internal static class TinyGenerators
{
    public static GeneratorConfig Grey8 { get; } = new(ZDim: 6, CDim: 0, WDim: 5, ImgResolution: 8, ImgChannels: 1, MappingLayers: 2, ChannelBase: 32, ChannelMax: 4, ConvClamp: 256f);

    public static GeneratorConfig Rgb16Conditional { get; } = new(ZDim: 4, CDim: 2, WDim: 6, ImgResolution: 16, ImgChannels: 3, MappingLayers: 2, ChannelBase: 64, ChannelMax: 5, ConvClamp: null);

    public static GeneratorWeights Weights(GeneratorConfig config, int seed = 7)
    {
        var rng = new Random(seed);
        float N() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        var tensors = new Dictionary<string, HostTensor>();
        foreach (var (name, shape) in config.TensorShapes())
        {
            var data = new float[HostTensor.Count(shape)];
            // Mapping layers store their parameters divided by lr_mul (0.01), as NVIDIA initialises them.
            float scale = name.StartsWith("mapping.fc", StringComparison.Ordinal) ? 100f : 1f;
            for (int i = 0; i < data.Length; i++)
                data[i] = name.EndsWith("affine.bias", StringComparison.Ordinal) ? 1 + 0.3f * N()
                    : name.EndsWith("noise_strength", StringComparison.Ordinal) ? 0.5f * N()
                    : name.EndsWith(".bias", StringComparison.Ordinal) ? 0.2f * N()
                    : N();
            for (int i = 0; i < data.Length; i++) data[i] *= scale;
            tensors[name] = new HostTensor(shape, data);
        }
        return GeneratorWeights.FromTensors(config, tensors);
    }

    public static float[] Normal(Random rng, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())))];
}
