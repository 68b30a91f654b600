using Grpc.Core;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;
using GrpcExplain.Protos.V1;
using Case = GrpcExplain.Protos.V1.ExplainResponse.EventOneofCase;

namespace GrpcExplain.Coordinator.Tests;

/// <summary>
/// Explain on a white-box classifier (a reference CNN served with its reference.safetensors): the gradient
/// direction is accepted and is ∇_w of the class logit, the generator's latent gradient of the CNN's own
/// image gradient; the heat map is the CNN's Grad-CAM. A black box beside it is still refused the gradient.
/// </summary>
public class WhiteBoxExplainTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheGradientDirectionIsTheLatentGradientOfTheCnnsLogitAndTheHeatMapItsGradCam()
    {
        await using var deployment = await Deployment.StartAsync(whiteBox: true);
        var model = deployment.Direction;
        var request = ExplainTests.Request(deployment, DirectionMethod.Gradient);
        // The image as the generator made it, so the heat map is of exactly these values.
        request.Image = new Image { Tensor = Tensors.Proto(model.InputImage, 1, DirectionModel.Resolution, DirectionModel.Resolution) };
        request.ClassifierModel = new ClassifierModel { Name = Deployment.WhiteBoxModel };
        request.NumFrames = 3;
        request.AlphaRange = new AlphaRange { AlphaStart = 0, AlphaEnd = 0.5f };
        using var call = deployment.Client.Explain(request, cancellationToken: Ct);
        var responses = await ExplainTests.ReadAllAsync(call);
        Assert.Equal([Case.OriginalPrediction, Case.ProjectionProgress, Case.Reconstruction, Case.Direction, Case.Frame, Case.Frame, Case.Frame, Case.HeatMap, Case.Summary],
            responses.Select(r => r.EventCase));

        // ∇_w logit_1(G(w)) at the reconstruction's latent, from the parts: the generator's image, the CNN's
        // gradient of logit 1 for it (its classifier.json feeds the network [-1, 1] images as they are), and
        // the generator's LatentGradient of that.
        using var network = new ReferenceCnn(Backends.Create(BackendKind.Cpu), deployment.WhiteBox!);
        var generator = new GeneratorService.GeneratorServiceClient(deployment.Generator.Channel);
        var synthesized = await generator.SynthesizeAsync(new SynthesizeRequest { Ws = Tensors.Proto(model.InputLatent, 1, DirectionModel.WDim), IncludeTensor = true }, cancellationToken: Ct);
        var (_, imageGradient) = network.LogitGradient(Tensors.Floats(synthesized.Images), 1, 1);
        var latentGradient = await generator.LatentGradientAsync(new LatentGradientRequest
        {
            Ws = Tensors.Proto(model.InputLatent, 1, DirectionModel.WDim),
            ImageGradient = Tensors.Proto(imageGradient, 1, 1, DirectionModel.Resolution, DirectionModel.Resolution),
        }, cancellationToken: Ct);
        var expected = Tensors.Floats(latentGradient.WsGradient);
        double norm = Math.Sqrt(expected.Sum(v => (double)v * v));
        Assert.True(norm > 0, "the CNN's logit should move with the latent");

        var direction = responses.Single(r => r.EventCase == Case.Direction).Direction;
        Assert.Equal(DirectionMethod.Gradient, direction.Method);
        Assert.Equal("", direction.DirectionId);
        Assert.Equal([(long)DirectionModel.WDim], direction.Direction.Shape);
        var actual = Tensors.Floats(direction.Direction);
        for (int j = 0; j < expected.Length; j++)
            Assert.True(Math.Abs(actual[j] - expected[j] / norm) <= 1e-5, $"element {j}: expected {expected[j] / norm:G6}, got {actual[j]:G6}");

        var heatMap = responses.Single(r => r.EventCase == Case.HeatMap).HeatMap;
        Assert.Equal(HeatMapMethod.GradCam, heatMap.Method);
        Assert.Equal([(long)DirectionModel.Resolution, DirectionModel.Resolution], heatMap.Relevance.Shape);
        var cam = network.GradCam(model.InputImage, 1);
        var relevance = Tensors.Floats(heatMap.Relevance);
        for (int i = 0; i < cam.Length; i++) Assert.True(Math.Abs(cam[i] - relevance[i]) <= 1e-6, $"pixel {i}: Grad-CAM {cam[i]:G6}, heat map {relevance[i]:G6}");
        Assert.Equal(3, responses[^1].Summary.NumFrames);
    }

    [Fact]
    public async Task BesideItABlackBoxIsRefusedTheGradientAndGetsAnOcclusionMap()
    {
        await using var deployment = await Deployment.StartAsync(whiteBox: true);
        using var refused = deployment.Client.Explain(ExplainTests.Request(deployment, DirectionMethod.Gradient), cancellationToken: Ct);
        var e = await Assert.ThrowsAsync<RpcException>(() => refused.ResponseStream.MoveNext(Ct));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains($"DIRECTION_METHOD_GRADIENT needs a white-box classifier, and '{Deployment.Model}' is a black box: its server's ModelMetadata lists no 'logit_gradient' output",
            e.Status.Detail, StringComparison.Ordinal);

        var request = ExplainTests.Request(deployment, DirectionMethod.BlackBoxGradientEstimate);
        request.NumFrames = 2;
        using var call = deployment.Client.Explain(request, cancellationToken: Ct);
        Assert.Equal(HeatMapMethod.Occlusion, (await ExplainTests.ReadAllAsync(call)).Single(r => r.EventCase == Case.HeatMap).HeatMap.Method);
    }
}
