using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Weights;

namespace NativeBench.Generator;

/// <summary>
/// The three generator configurations of the speed targets (issue 3): 64x64 RGB (channel_base 4096,
/// channel_max 256, w_dim 256), 128x128 grey (8192/256/256), 256x256 RGB (16384/512/512); 8 mapping
/// layers, conv_clamp 256. Random weights initialised as stylegan2-ada-pytorch does (mapping
/// parameters divided by lr_mul, affine biases 1), so the timing sees realistic values.
/// </summary>
internal static class BenchGenerators
{
    public static GeneratorConfig Config(int resolution) => resolution switch
    {
        64 => new(256, 0, 256, 64, 3, 8, 4096, 256, 256f),
        128 => new(256, 0, 256, 128, 1, 8, 8192, 256, 256f),
        256 => new(512, 0, 512, 256, 3, 8, 16384, 512, 256f),
        _ => throw new ArgumentException($"--config takes 64, 128 or 256, not {resolution}."),
    };

    public static GeneratorWeights RandomWeights(GeneratorConfig config, int seed = 1)
    {
        var rng = new Random(seed);
        var tensors = new Dictionary<string, HostTensor>();
        foreach (var (name, shape) in config.TensorShapes())
        {
            var data = new float[HostTensor.Count(shape)];
            bool mapping = name.StartsWith("mapping.fc", StringComparison.Ordinal);
            for (int i = 0; i < data.Length; i++)
            {
                double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                data[i] = (float)(name.EndsWith("affine.bias", StringComparison.Ordinal) ? 1
                    : name.EndsWith("noise_strength", StringComparison.Ordinal) ? 0.1 * g
                    : name.EndsWith(".bias", StringComparison.Ordinal) || name == "mapping.w_avg" ? 0.1 * g
                    : mapping ? g / 0.01
                    : g);
            }
            tensors[name] = new HostTensor(shape, data);
        }
        return GeneratorWeights.FromTensors(config, tensors);
    }
}
