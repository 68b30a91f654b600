using Google.Protobuf;
using Grpc.Core;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan.Projection;
using SixLabors.ImageSharp.PixelFormats;
using ProtoLatentSpace = GrpcExplain.Protos.V1.LatentSpace;

namespace GrpcExplain.Generator.Tests;

/// <summary>
/// The Project stream over loopback on the grey32 generator: progress in order, reconstructions every
/// k steps, one result last, the same projection the library computes in process, W+ and noise maps.
/// The target is an image the service itself made (seed 4's w, as a PNG), so it can be found again.
/// </summary>
public class ProjectTests(Grey32Server grey32) : IClassFixture<Grey32Server>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private GeneratorService.GeneratorServiceClient Client => grey32.Server.Client;

    private async Task<(Tensor W, ByteString Png)> TargetAsync()
    {
        var z = StyleGan.Latents.SeededLatents.Z([4], 32);
        var mapped = await Client.MapLatentsAsync(new MapLatentsRequest { Z = z.ToTensor(1, 32) }, cancellationToken: Ct);
        var w = mapped.Ws.Values()[..32].ToTensor(1, 32);
        var image = await Client.SynthesizeAsync(new SynthesizeRequest { Ws = w, IncludePng = true }, cancellationToken: Ct);
        return (w, image.PngImages[0]);
    }

    private static Image Png(ByteString png) => new() { Encoded = new EncodedImage { Format = ImageFormat.Png, Data = png } };

    /// <summary>Every message of a Project stream, in order.</summary>
    internal static async Task<List<ProjectResponse>> ProjectAsync(GeneratorService.GeneratorServiceClient client, ProjectRequest request)
    {
        using var call = client.Project(request, cancellationToken: Ct);
        var messages = new List<ProjectResponse>();
        await foreach (var m in call.ResponseStream.ReadAllAsync(Ct)) messages.Add(m);
        return messages;
    }

    [Fact]
    public async Task ProgressComesInOrderThenOneResultThatFindsTheImageAgain()
    {
        var (_, png) = await TargetAsync();
        var messages = await ProjectAsync(Client, new ProjectRequest
        {
            Image = Png(png), NumSteps = 300, ProgressIntervalSteps = 10, ReconstructionIntervalSteps = 100, Seed = 1,
        });

        var progress = messages.SkipLast(1).Select(m => m.Progress).ToList();
        Assert.All(progress, Assert.NotNull);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => 10 * i), progress.Select(p => p.Step));
        Assert.All(progress, p => Assert.Equal(300, p.NumSteps));
        Assert.True(progress.Zip(progress.Skip(1)).All(p => p.First.ElapsedSeconds <= p.Second.ElapsedSeconds));
        Assert.True(progress[^1].Loss < 0.1 * progress[0].Loss, $"loss {progress[0].Loss} at step 10, {progress[^1].Loss} at 300.");
        Assert.Equal([100, 200, 300], progress.Where(p => !p.ReconstructionPng.IsEmpty).Select(p => p.Step));
        using (var preview = SixLabors.ImageSharp.Image.Load<L8>(progress[9].ReconstructionPng.Span))
            Assert.Equal((32, 32), (preview.Width, preview.Height));

        var result = messages[^1].Result;
        Assert.NotNull(result);
        Assert.Equal([1L, 32], result.Ws.Shape);
        Assert.Equal([1L, 1, 32, 32], result.Reconstruction.Shape);
        Assert.Empty(result.NoiseMaps);
        Assert.Equal(300, result.NumSteps);
        Assert.Equal(progress[^1].ReconstructionPng, result.ReconstructionPng);
        // The PNG target is the float image quantised to 8 bits, which costs nothing measurable next to 35 dB.
        Assert.True(result.PsnrDb > 35, $"PSNR {result.PsnrDb:F2} dB.");
        Assert.True(result.Ssim > 0.98, $"SSIM {result.Ssim:F4}.");
        Assert.Equal(10 * Math.Log10(4 / result.MeanSquaredError), result.PsnrDb, 1e-3);

        // The service adds nothing: the library, in process, on the same decoded target, computes the same.
        using var decoded = SixLabors.ImageSharp.Image.Load<L8>(png.Span);
        var target = new float[32 * 32];
        for (int i = 0; i < target.Length; i++) target[i] = decoded[i % 32, i / 32].PackedValue / 127.5f - 1f;
        using var generator = TestGenerators.Create(TestGenerators.Grey32);
        var expected = new Projector(generator, WStatistics.Sample(generator, cancellation: Ct))
            .Project(target, new ProjectionOptions { NumSteps = 300, Seed = 1 }, cancellation: Ct);
        Assert.Equal(expected.Ws, result.Ws.Values());
        Assert.Equal(expected.Reconstruction, result.Reconstruction.Values());
        Assert.Equal((float)expected.Ssim, result.Ssim);
        generator.Backend.Dispose();
        Assert.Contains(grey32.Server.Log, l => l.Contains("Project: W from WAvg, 300 steps, noise maps optimised False, PSNR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WPlusWithNoiseMapsReturnsOneWPerLayerAndEveryMap()
    {
        var (_, png) = await TargetAsync();
        var messages = await ProjectAsync(Client, new ProjectRequest
        {
            Image = Png(png), NumSteps = 12, LatentSpace = ProtoLatentSpace.WPlus, OptimizeNoise = true, NoiseRegularizationWeight = 1e4f, ReconstructionIntervalSteps = 5,
        });

        Assert.Equal(Enumerable.Range(1, 12), messages.SkipLast(1).Select(m => m.Progress.Step));
        Assert.Equal([5, 10], messages.SkipLast(1).Where(m => !m.Progress.ReconstructionPng.IsEmpty).Select(m => m.Progress.Step));
        var result = messages[^1].Result;
        Assert.Equal([1L, 8, 32], result.Ws.Shape);
        var info = await Client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: Ct);
        Assert.Equal(info.NoiseLayers.Order(), result.NoiseMaps.Keys.Order());
        foreach (var layer in info.NoiseLayers)
        {
            int r = int.Parse(layer.Split('.')[1][1..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal([1L, 1, r, r], result.NoiseMaps[layer].Shape);
            Assert.Equal(1, result.NoiseMaps[layer].Values().Average(v => (double)v * v), 1e-4);
        }

        // Synthesize and LatentGradient take the maps back: the reconstruction exactly, and a gradient that differs from the stored maps' one.
        var again = new SynthesizeRequest { Ws = result.Ws, IncludeTensor = true };
        again.NoiseMaps.Add(result.NoiseMaps);
        Assert.Equal(result.Reconstruction.Values(), (await Client.SynthesizeAsync(again, cancellationToken: Ct)).Images.Values());
        var stored = await Client.SynthesizeAsync(new SynthesizeRequest { Ws = result.Ws, IncludeTensor = true }, cancellationToken: Ct);
        Assert.NotEqual(result.Reconstruction.Values(), stored.Images.Values());
        var gradient = new LatentGradientRequest { Ws = result.Ws, ImageGradient = Enumerable.Repeat(1f, 32 * 32).ToArray().ToTensor(1, 1, 32, 32) };
        var withMaps = gradient.Clone();
        withMaps.NoiseMaps.Add(result.NoiseMaps);
        Assert.NotEqual((await Client.LatentGradientAsync(gradient, cancellationToken: Ct)).WsGradient.Values(),
            (await Client.LatentGradientAsync(withMaps, cancellationToken: Ct)).WsGradient.Values());
    }

    [Fact]
    public async Task NoiseMapsThatDoNotFitAreInvalidArgument()
    {
        var info = await Client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: Ct);
        var request = new SynthesizeRequest { Ws = new float[32].ToTensor(1, 32), IncludeTensor = true, NoiseMode = NoiseMode.Random };
        request.NoiseMaps["b99.conv0"] = new float[4].ToTensor(1, 1, 2, 2);
        request.NoiseMaps[info.NoiseLayers[0]] = new float[9].ToTensor(1, 1, 3, 3);
        var e = await Assert.ThrowsAsync<RpcException>(() => Client.SynthesizeAsync(request, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        foreach (var expected in new[] { "noise_mode must be unset", "no noise layer is called b99.conv0", $"missing {info.NoiseLayers[1]}", $"noise_maps[{info.NoiseLayers[0]}]" })
            Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARawTensorTargetGetsProgressEveryStepByDefault()
    {
        var (w, _) = await TargetAsync();
        var image = await Client.SynthesizeAsync(new SynthesizeRequest { Ws = w, IncludeTensor = true }, cancellationToken: Ct);
        var target = image.Images.Values().Select(v => Math.Clamp(v, -1f, 1f)).ToArray().ToTensor(1, 32, 32);
        var messages = await ProjectAsync(Client, new ProjectRequest { Image = new Image { Tensor = target }, NumSteps = 20 });

        Assert.Equal(21, messages.Count);
        Assert.Equal(Enumerable.Range(1, 20), messages.Take(20).Select(m => m.Progress.Step));
        // The service's default reconstruction interval (100 steps) is longer than this projection.
        Assert.All(messages.Take(20), m => Assert.True(m.Progress.ReconstructionPng.IsEmpty));
        Assert.Equal(ProjectResponse.EventOneofCase.Result, messages[^1].EventCase);
    }
}
