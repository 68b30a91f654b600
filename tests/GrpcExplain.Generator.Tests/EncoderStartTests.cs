using Grpc.Core;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan.Encoding;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Generator.Tests;

/// <summary>
/// The service with an encoder for its generator (Generator:EncoderPath): GetModelInfo says so, Project
/// starts from it with the encoder's default steps and says which start it used; an encoder trained for
/// other weights is refused with a warning that says why, and projections start from the mean w.
/// </summary>
public sealed class EncoderStartTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _dir = Directory.CreateTempSubdirectory("generator-encoder-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>An untrained encoder (where it starts does not matter here, only that it is used) for the weights with <paramref name="hash"/>.</summary>
    private string EncoderFile(string hash)
    {
        var g = TestGenerators.Grey32.Config;
        var config = new EncoderConfig(g.ImgResolution, g.ImgChannels, [4, 8], g.WDim, 1f, hash);
        string path = Path.Combine(_dir, $"{hash[..8]}.safetensors");
        EncoderWeights.Initialize(config, TestGenerators.Grey32["mapping.w_avg"].Data, seed: 1).Save(path);
        return path;
    }

    private static ProjectRequest Request(int steps, ProjectionStart start = ProjectionStart.Unspecified)
    {
        var image = new float[32 * 32];
        for (int i = 0; i < image.Length; i++) image[i] = MathF.Sin(i * 0.37f);
        return new ProjectRequest { Image = new Image { Tensor = image.ToTensor(1, 32, 32) }, NumSteps = steps, Start = start, ProgressIntervalSteps = 1000 };
    }

    [Fact]
    public async Task ProjectionStartsFromTheEncoderWithItsDefaultStepsAndSaysSo()
    {
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(TestGenerators.Grey32), o => o.EncoderPath = EncoderFile(TestGenerators.Grey32.ContentHash));
        Assert.True((await server.Client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: Ct)).HasEncoder);
        Assert.Contains(server.Log, l => l.Contains("projections start from its w", StringComparison.Ordinal));

        var warm = (await ProjectTests.ProjectAsync(server.Client, Request(0)))[^1].Result;
        Assert.Equal(ProjectionStart.Encoder, warm.Start);
        Assert.Equal(new GeneratorServiceOptions().ProjectionEncoderDefaultSteps, warm.NumSteps);

        var cold = (await ProjectTests.ProjectAsync(server.Client, Request(3, ProjectionStart.WAvg)))[^1].Result;
        Assert.Equal(ProjectionStart.WAvg, cold.Start);
        Assert.Equal(ProjectionStart.Encoder, (await ProjectTests.ProjectAsync(server.Client, Request(3, ProjectionStart.Encoder)))[^1].Result.Start);
    }

    [Fact]
    public async Task AnotherGeneratorsEncoderIsRefusedAndProjectionStartsFromTheMean()
    {
        string other = GeneratorWeights.Initialize(TestGenerators.Grey32.Config, seed: 5).ContentHash;
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(TestGenerators.Grey32), o => o.EncoderPath = EncoderFile(other));
        Assert.False((await server.Client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: Ct)).HasEncoder);
        Assert.Contains(server.Log, l => l.Contains("The encoder is not used", StringComparison.Ordinal) && l.Contains($"trained for generator {other[..16]}", StringComparison.Ordinal));

        var result = (await ProjectTests.ProjectAsync(server.Client, Request(2)))[^1].Result;
        Assert.Equal(ProjectionStart.WAvg, result.Start);
        var e = await Assert.ThrowsAsync<RpcException>(() => ProjectTests.ProjectAsync(server.Client, Request(2, ProjectionStart.Encoder)));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("has no encoder", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingEncoderFileIsAConfigurationError()
    {
        var options = new GeneratorServiceOptions { GeneratorFactory = TestGenerators.Factory(TestGenerators.Grey32), EncoderPath = Path.Combine(_dir, "missing.safetensors") };
        Assert.Contains("EncoderPath", options.Problem(), StringComparison.Ordinal);
        Assert.Null(new GeneratorServiceOptions { GeneratorFactory = options.GeneratorFactory, EncoderPath = "none" }.Problem());
    }
}
