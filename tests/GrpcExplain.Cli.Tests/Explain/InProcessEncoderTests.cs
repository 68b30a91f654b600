using GrpcExplain.Cli.Explain;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Encoding;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>
/// The in-process generator finds encoder.safetensors beside the weights: one trained for them starts
/// projections (and the default steps are the encoder's); one trained for other weights is refused with
/// the reason, and projections start from the mean w with the mean start's default steps.
/// </summary>
public sealed class InProcessEncoderTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _dir = Directory.CreateTempSubdirectory("cli-in-process-encoder-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void SaveEncoder(string folder, GeneratorWeights generator, string hash) =>
        EncoderWeights.Initialize(new EncoderConfig(generator.Config.ImgResolution, 1, [4, 8], generator.Config.WDim, 1f, hash),
            generator["mapping.w_avg"].Data, seed: 2).Save(Path.Combine(folder, EncoderWeights.FileName));

    private static async Task<(Projection Result, int Steps)> ProjectAsync(InProcessGenerator generator)
    {
        var image = new float[generator.Info.ImageLength];
        Projection? result = null;
        int steps = 0;
        await foreach (var e in generator.ProjectAsync(new Classifiers.ImageBatch(image, 1, 1, generator.Info.ImageResolution, generator.Info.ImageResolution), new ProjectionOptions(), Ct))
            if (e is Projection p) result = p;
            else if (e is ProjectionProgress progress) steps = progress.NumSteps;
        return (result!, steps);
    }

    [Fact]
    public async Task TheEncoderBesideTheWeightsStartsProjections()
    {
        string path = TinyGenerators.Save(TinyGenerators.Grey, Path.Combine(_dir, "generator.safetensors"));
        var weights = GeneratorWeights.Load(path);
        SaveEncoder(_dir, weights, weights.ContentHash);
        using var generator = InProcessGenerator.Load(path, BackendKind.Cpu);
        Assert.True(generator.HasEncoder);
        Assert.Null(generator.EncoderRefusal);
        var (result, steps) = await ProjectAsync(generator);
        Assert.True(result.FromEncoder);
        Assert.Equal(InProcessGenerator.EncoderStartSteps, steps);

        using var withoutEncoder = InProcessGenerator.Load(path, BackendKind.Cpu, useEncoder: false);
        Assert.False(withoutEncoder.HasEncoder);
        Assert.False((await ProjectAsync(withoutEncoder)).Result.FromEncoder);
    }

    [Fact]
    public async Task AnotherGeneratorsEncoderIsRefusedWithTheReason()
    {
        string path = TinyGenerators.Save(TinyGenerators.Grey, Path.Combine(_dir, "generator.safetensors"));
        var other = GeneratorWeights.FromTensors(TinyGenerators.Grey, TinyGenerators.RandomTensors(TinyGenerators.Grey, seed: 9));
        SaveEncoder(_dir, other, other.ContentHash);
        using var generator = InProcessGenerator.Load(path, BackendKind.Cpu);
        Assert.False(generator.HasEncoder);
        Assert.Contains($"trained for generator {other.ContentHash[..16]}", generator.EncoderRefusal, StringComparison.Ordinal);
        var (result, steps) = await ProjectAsync(generator);
        Assert.False(result.FromEncoder);
        Assert.Equal(InProcessGenerator.WAvgStartSteps, steps);
    }
}
