using GrpcExplain.Cli.Explain;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Kernels;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>
/// Projection with optimised noise maps in process: the latents it returns carry the maps, and the walk's
/// synthesis (alpha 0 along any direction) gives back the reconstruction exactly; with the generator's
/// stored maps the same latents make another image.
/// </summary>
public sealed class OptimizedNoiseTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _dir = Directory.CreateTempSubdirectory("cli-optimized-noise-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TheWalksFirstFrameIsTheReconstructionWhenNoiseWasOptimised()
    {
        using var generator = InProcessGenerator.Load(TinyGenerators.Save(TinyGenerators.Grey, Path.Combine(_dir, "generator.safetensors")), BackendKind.Cpu);
        var info = generator.Info;
        var target = new float[info.ImageLength];
        for (int i = 0; i < target.Length; i++) target[i] = MathF.Sin(0.7f * i);
        Projection? projection = null;
        await foreach (var e in generator.ProjectAsync(new Classifiers.ImageBatch(target, 1, 1, info.ImageResolution, info.ImageResolution), new ProjectionOptions(NumSteps: 5, OptimizeNoise: true), Ct))
            if (e is Projection p) projection = p;

        Assert.NotNull(projection);
        var maps = projection.Ws.NoiseMaps;
        Assert.NotNull(maps);
        var direction = Enumerable.Range(0, info.WDim).Select(i => i % 2 == 0 ? 0.3f : -0.3f).ToArray();
        var frame = projection.Ws.Moved(direction, 0f, 1f);
        Assert.Same(maps, frame.NoiseMaps);
        var images = await generator.SynthesizeAsync(frame, Ct);
        Assert.Equal(projection.Reconstruction.Pixels, images.Pixels[..info.ImageLength]);
        Assert.NotEqual(projection.Reconstruction.Pixels, images.Pixels[info.ImageLength..]);

        var storedNoise = await generator.SynthesizeAsync(new Latents(projection.Ws.Values, 1, info.WDim), Ct);
        double rms = Math.Sqrt(storedNoise.Pixels.Zip(projection.Reconstruction.Pixels, (a, b) => (double)(a - b) * (a - b)).Average());
        Assert.True(rms > 1e-3, $"the stored noise maps should give another image (RMS difference {rms})");
    }
}
