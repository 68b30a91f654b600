using Grpc.Core;
using GrpcExplain.Protos.V1;
using SixLabors.ImageSharp.PixelFormats;
using Image = GrpcExplain.Protos.V1.Image;
using Case = GrpcExplain.Protos.V1.ExplainResponse.EventOneofCase;

namespace GrpcExplain.Coordinator.Tests;

/// <summary>Explain over loopback with the real generator and classifier services, on a classifier built to depend on a known latent direction.</summary>
public class ExplainTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static ExplainRequest Request(Deployment deployment, DirectionMethod method = DirectionMethod.LinearProbe) => new()
    {
        Image = new Image { Encoded = new EncodedImage { Format = ImageFormat.Png, Data = Google.Protobuf.ByteString.CopyFrom(deployment.Direction.InputPng) } },
        ClassifierModel = new ClassifierModel { Name = Deployment.Model },
        TargetClass = 1,
        DirectionMethod = method,
        NumFrames = 9,
        AlphaRange = new AlphaRange { AlphaStart = -deployment.Direction.Spread, AlphaEnd = 3 * deployment.Direction.Spread },
    };

    internal static async Task<List<ExplainResponse>> ReadAllAsync(AsyncServerStreamingCall<ExplainResponse> call)
    {
        var responses = new List<ExplainResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync(Ct)) responses.Add(r);
        return responses;
    }

    [Fact]
    public async Task WithOptimisedNoiseTheWalksAlphaZeroFrameIsTheReconstruction()
    {
        await using var deployment = await Deployment.StartAsync(fakeEncoder: false);
        var request = Request(deployment);
        request.Encoding = new EncodingOptions { NumSteps = 20, OptimizeNoise = true };
        using var call = deployment.Client.Explain(request, cancellationToken: Ct);
        var responses = await ReadAllAsync(call);

        var reconstruction = responses.Single(r => r.EventCase == Case.Reconstruction).Reconstruction;
        var frames = responses.Where(r => r.EventCase == Case.Frame).Select(r => r.Frame).ToList();
        Assert.Equal(0f, frames[2].Alpha, 6);
        Assert.Equal(0f, frames[2].RmsDistanceToReconstruction);
        // The test generator has no encoder: the steps started from the mean w.
        Assert.Equal(ProjectionStart.WAvg, reconstruction.Start);
        Assert.Equal(reconstruction.PngImage, frames[2].PngImage);

        // The same latents with the generator's stored noise make another image: the maps did travel.
        var generator = new GeneratorService.GeneratorServiceClient(deployment.Generator.Channel);
        var stored = await generator.SynthesizeAsync(new SynthesizeRequest { Ws = reconstruction.Ws, IncludePng = true }, cancellationToken: Ct);
        Assert.NotEqual(reconstruction.PngImage, stored.PngImages[0]);
    }

    [Fact]
    public async Task TheStreamComesInOrderAndItsFramesRaiseTheTargetProbability()
    {
        await using var deployment = await Deployment.StartAsync();
        using var call = deployment.Client.Explain(Request(deployment), cancellationToken: Ct);
        var responses = await ReadAllAsync(call);

        var cases = responses.Select(r => r.EventCase).ToList();
        Assert.Equal(cases.Order(), cases);
        Assert.Equal([Case.OriginalPrediction, Case.ProjectionProgress, Case.Reconstruction, Case.Direction, .. Enumerable.Repeat(Case.Frame, 9), Case.HeatMap, Case.Summary], cases);

        var original = responses[0].OriginalPrediction.Prediction;
        Assert.Equal(0, original.PredictedClass);
        Assert.Equal(["away", "towards"], original.ClassNames);
        var reconstruction = responses[2].Reconstruction;
        Assert.Equal("", reconstruction.Warning);
        // The known latent's image against the input PNG: 8-bit quantisation, and clamping where the random generator strays outside [-1, 1].
        Assert.True(reconstruction.MeanSquaredError < 0.01, $"reconstruction MSE {reconstruction.MeanSquaredError}");
        Assert.Equal([1L, 32], reconstruction.Ws.Shape);
        Assert.Equal(ProjectionStart.Encoder, reconstruction.Start);

        var direction = responses[3].Direction;
        Assert.Equal(DirectionMethod.LinearProbe, direction.Method);
        Assert.NotEmpty(direction.DirectionId);
        Assert.Equal([32L], direction.Direction.Shape);
        Assert.True(direction.HeldOutAccuracy > 0.7 && direction.HeldOutAuc > 0.8, $"probe accuracy {direction.HeldOutAccuracy}, AUC {direction.HeldOutAuc}");

        var frames = responses.Where(r => r.EventCase == Case.Frame).Select(r => r.Frame).ToList();
        Assert.Equal(Enumerable.Range(0, 9), frames.Select(f => f.Index));
        Assert.Equal(-deployment.Direction.Spread, frames[0].Alpha, 5);
        Assert.Equal(3 * deployment.Direction.Spread, frames[^1].Alpha, 5);
        var p = frames.Select(f => f.Prediction.Probabilities[1]).ToList();
        for (int i = 1; i < p.Count; i++) Assert.True(p[i] > p[i - 1], $"the target probability fell from {p[i - 1]} to {p[i]} at frame {i}: {string.Join(", ", p)}");
        Assert.True(p[^1] > 0.5f && p[0] < 0.5f, $"the walk should cross the boundary: {string.Join(", ", p)}");
        Assert.Equal(0, frames[2].RmsDistanceToReconstruction, 2);
        using (var png = SixLabors.ImageSharp.Image.Load<L8>(frames[4].PngImage.ToByteArray()))
            Assert.Equal((32, 32), (png.Width, png.Height));

        var heatMap = responses[^2].HeatMap;
        Assert.Equal(HeatMapMethod.Occlusion, heatMap.Method);
        Assert.Equal([32L, 32], heatMap.Relevance.Shape);
        Assert.Equal(1f, Tensors.Floats(heatMap.Relevance).Max());
        using (var overlay = SixLabors.ImageSharp.Image.Load<Rgb24>(heatMap.PngOverlay.ToByteArray()))
            Assert.Equal((32, 32), (overlay.Width, overlay.Height));

        var summary = responses[^1].Summary;
        Assert.Equal(1f, summary.SpearmanAlphaTargetProbability, 5);
        Assert.True(summary.HasFlipAlpha && summary.FlipAlpha > 0, "the prediction should flip at a positive alpha");
        Assert.Equal(9, summary.NumFrames);
        Assert.True(summary.RmsTotalImageChange > 0.01f);
    }

    [Fact]
    public async Task TheBlackBoxEstimateWalksUntilTheTargetProbabilityIsReached()
    {
        await using var deployment = await Deployment.StartAsync();
        var request = Request(deployment, DirectionMethod.BlackBoxGradientEstimate);
        request.NumFrames = 17;
        request.UntilProbability = new TargetProbability { TargetProbability_ = 0.9f, MaxAbsAlpha = 6 * deployment.Direction.Spread };
        using var call = deployment.Client.Explain(request, cancellationToken: Ct);
        var responses = await ReadAllAsync(call);

        Assert.Equal(DirectionMethod.BlackBoxGradientEstimate, responses.Single(r => r.EventCase == Case.Direction).Direction.Method);
        Assert.Equal("", responses.Single(r => r.EventCase == Case.Direction).Direction.DirectionId);
        var frames = responses.Where(r => r.EventCase == Case.Frame).Select(r => r.Frame).ToList();
        Assert.Equal(0f, frames[0].Alpha);
        Assert.True(frames.Count < 17, $"{frames.Count} frames: the target should be reached before max_abs_alpha");
        Assert.True(frames[^1].Prediction.Probabilities[1] >= 0.9f);
        Assert.All(frames.SkipLast(1), f => Assert.True(f.Prediction.Probabilities[1] < 0.9f));
        var p = frames.Select(f => f.Prediction.Probabilities[1]).ToList();
        for (int i = 1; i < p.Count; i++) Assert.True(p[i] > p[i - 1], $"the target probability fell at frame {i}: {string.Join(", ", p)}");
        Assert.Equal(frames.Count, responses[^1].Summary.NumFrames);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithTheGeneratorsProjection(bool wPlus)
    {
        await using var deployment = await Deployment.StartAsync(fakeEncoder: false);
        var request = Request(deployment, DirectionMethod.BlackBoxGradientEstimate);
        request.Encoding = new EncodingOptions { NumSteps = 30, LatentSpace = wPlus ? LatentSpace.WPlus : LatentSpace.W };
        request.NumFrames = 3;
        using var call = deployment.Client.Explain(request, cancellationToken: Ct);
        var responses = await ReadAllAsync(call);
        var cases = responses.Select(r => r.EventCase).ToList();
        Assert.Equal(cases.Order(), cases);
        Assert.Contains(Case.ProjectionProgress, cases);
        var reconstruction = responses.Single(r => r.EventCase == Case.Reconstruction).Reconstruction;
        Assert.Equal(wPlus ? [1L, 8, 32] : [1L, 32], reconstruction.Ws.Shape);
        // 30 steps from the mean w: a rough reconstruction, but a real one, and the walk starts from it.
        Assert.True(reconstruction.MeanSquaredError is > 0 and < 0.5f, $"reconstruction MSE {reconstruction.MeanSquaredError}");
        Assert.NotEmpty(reconstruction.PngImage);
        Assert.Equal(3, responses.Count(r => r.EventCase == Case.Frame));
    }
}
