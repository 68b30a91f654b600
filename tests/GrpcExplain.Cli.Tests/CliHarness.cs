using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Cli.Tests;

/// <summary>What one in-process run of the command printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
}

internal static class CliHarness
{
    public static CliResult Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// Skips a success test while Generator.Map/Synthesize are still stubs, so the test starts to run by
    /// itself once they land; any other failure still fails.
    /// </summary>
    public static void SkipWhileGeneratorIsAStub(CliResult result) =>
        Assert.SkipWhen(result.ExitCode == 1 && result.Stderr.Contains("(NotImplementedException)", StringComparison.Ordinal),
            "Generator.Map/Synthesize are not implemented yet; this end-to-end test runs once they are.");
}

/// <summary>Small generators with random weights, saved as safetensors, as the CLI loads them.</summary>
internal static class TinyGenerators
{
    /// <summary>8x8 grey, unconditional: num_ws 4, z_dim 8, w_dim 8.</summary>
    public static readonly GeneratorConfig Grey = new(ZDim: 8, CDim: 0, WDim: 8, ImgResolution: 8, ImgChannels: 1, MappingLayers: 2, ChannelBase: 32, ChannelMax: 4);

    /// <summary>16x16 RGB, conditional on 3 classes: num_ws 6, z_dim 6, w_dim 5.</summary>
    public static readonly GeneratorConfig ConditionalRgb = new(ZDim: 6, CDim: 3, WDim: 5, ImgResolution: 16, ImgChannels: 3, MappingLayers: 2, ChannelBase: 64, ChannelMax: 8, ConvClamp: 256f);

    public static Dictionary<string, HostTensor> RandomTensors(GeneratorConfig config, int seed = 1)
    {
        var rng = new Random(seed);
        return config.TensorShapes().ToDictionary(p => p.Name, p =>
        {
            var data = new float[HostTensor.Count(p.Shape)];
            // Roughly NVIDIA's initialisation: unit-scale weights, affine biases near 1, small noise strengths.
            float offset = p.Name.EndsWith(".affine.bias", StringComparison.Ordinal) ? 1f : 0f;
            float scale = p.Name.EndsWith("noise_strength", StringComparison.Ordinal) ? 0.1f : 1f;
            for (int i = 0; i < data.Length; i++) data[i] = offset + scale * ((float)rng.NextDouble() * 2f - 1f);
            return new HostTensor(p.Shape, data);
        });
    }

    public static string Save(GeneratorConfig config, string path, int seed = 1)
    {
        GeneratorWeights.FromTensors(config, RandomTensors(config, seed)).Save(path);
        return path;
    }
}
