using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Inference;
using GrpcExplain.Protos.V1;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace GrpcExplain.EndToEnd.Tests;

/// <summary>
/// The three hosts of <c>serve all</c> over their sockets: health, reflection, answers equal to the
/// libraries' own, computed in this process (<see cref="Reference"/>), bit for bit, and an explanation
/// that goes through all three.
/// </summary>
public class ServeAllTests(ServeAll serve)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryServiceIsServingOnceLoaded()
    {
        Assert.Equal(ServingStatus.Serving, await Fixtures.HealthAsync(serve.Generator, "grpcexplain.v1.GeneratorService"));
        Assert.Equal(ServingStatus.Serving, await Fixtures.HealthAsync(serve.Classifier, "inference.GRPCInferenceService"));
        Assert.Equal(ServingStatus.Serving, await Fixtures.HealthAsync(serve.Coordinator, "grpcexplain.v1.ExplainerService"));
    }

    [Theory]
    [InlineData("generator", new[] { "grpcexplain.v1.GeneratorService", "grpc.health.v1.Health" })]
    [InlineData("classifier", new[] { "inference.GRPCInferenceService", "grpc.health.v1.Health" })]
    [InlineData("coordinator", new[] { "grpcexplain.v1.ExplainerService", "grpc.health.v1.Health" })]
    public async Task ReflectionListsTheServices(string service, string[] expected)
    {
        using var channel = Fixtures.Channel(serve.Address(service));
        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, Ct);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(Ct));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.All(expected, name => Assert.Contains(name, services));
    }

    [Theory]
    [InlineData(new long[] { 3, 32 })]
    [InlineData(new long[] { 2, 8, 32 })]
    public async Task SynthesizeEqualsTheGeneratorInProcess(long[] wsShape)
    {
        int n = (int)wsShape[0];
        var ws = Reference.Values((int)wsShape.Aggregate(1L, (a, d) => a * d), seed: n);
        var response = await serve.GeneratorClient.SynthesizeAsync(new SynthesizeRequest { Ws = ws.ToTensor(wsShape), IncludeTensor = true }, cancellationToken: Ct);
        Assert.Equal([n, 1, 32, 32], response.Images.Shape);
        Assert.Equal(Reference.Synthesize(ws, n), response.Images.Data.Floats());
    }

    [Fact]
    public async Task LatentGradientEqualsTheSynthesisPassBackwardInProcess()
    {
        const int n = 2;
        var ws = Reference.Values(n * 8 * 32, seed: 5);
        var imageGradient = Reference.Values(n * 32 * 32, seed: 6, scale: 0.01f);
        var response = await serve.GeneratorClient.LatentGradientAsync(new LatentGradientRequest
        {
            Ws = ws.ToTensor(n, 8, 32), ImageGradient = imageGradient.ToTensor(n, 1, 32, 32), IncludeNoiseGradients = true,
        }, cancellationToken: Ct);
        var expected = Reference.LatentGradient(ws, n, imageGradient, noise: true);
        Assert.Equal([n, 8, 32], response.WsGradient.Shape);
        Assert.Equal(expected.Ws, response.WsGradient.Data.Floats());
        Assert.Equal(expected.Noise!.Keys.Order(), response.NoiseGradients.Keys.Order());
        foreach (var (layer, gradient) in expected.Noise) Assert.Equal(gradient, response.NoiseGradients[layer].Data.Floats());
    }

    [Fact]
    public async Task ModelInferEqualsOnnxRuntimeCalledDirectly()
    {
        var images = Reference.Values(2 * 3 * 32 * 32, seed: 7);
        var request = OipTensors.Request("tiny_cnn", "", [Classifiers.Tensor.Fp32("image", [2, 3, 32, 32], images)], [], raw: true);
        var response = await serve.ClassifierClient.ModelInferAsync(request, cancellationToken: Ct);
        var expected = Reference.OnnxRuntime("tiny_cnn", "image", [2, 3, 32, 32], images);
        Assert.Equal(("tiny_cnn", "1"), (response.ModelName, response.ModelVersion));
        Assert.Equal(expected.Keys, response.Outputs.Select(o => o.Name));
        foreach (var (name, values) in expected) Assert.Equal(values, OipTensors.ReadOutput(response, name).Floats);
    }

    [Fact]
    public async Task AnOipClientOverTheSocketClassifiesAsTheModelInProcess()
    {
        var images = new ImageBatch(Reference.Values(3 * 3 * 32 * 32, seed: 8), 3, 3, 32, 32);
        using var local = OnnxClassifier.Open(Fixtures.Repository, "tiny_cnn", options: new() { ExecutionProvider = Classifiers.Onnx.ExecutionProvider.Cpu, IntraOpThreads = 1 });
        using var remote = await OipClassifier.ConnectAsync(serve.Address("classifier"), "tiny_cnn", null,
            ClassifierConfig.Load(Path.Combine(Fixtures.Repository, "tiny_cnn", ClassifierConfig.FileName)), cancellationToken: Ct);
        Assert.Equal((await local.ClassifyAsync(images, Ct)).Probabilities, (await remote.ClassifyAsync(images, Ct)).Probabilities);
    }

    [Fact]
    public async Task ExplainGoesThroughAllThreeServices()
    {
        // An image the generator made (within [-1, 1], as an input image is), so that projection has something to find.
        var image = Reference.Synthesize(Reference.Values(32, seed: 9, scale: 0.5f), 1).Select(v => Math.Clamp(v, -1f, 1f)).ToArray();
        var request = new ExplainRequest
        {
            Image = new Image { Tensor = image.ToTensor(1, 32, 32) },
            ClassifierModel = new ClassifierModel { Name = "tiny_cnn_u8" },
            TargetClass = 1,
            DirectionMethod = DirectionMethod.BlackBoxGradientEstimate,
            NumFrames = 3,
            AlphaRange = new AlphaRange { AlphaStart = -1f, AlphaEnd = 1f },
            Encoding = new EncodingOptions { NumSteps = 5 },
        };
        using var call = new ExplainerService.ExplainerServiceClient(serve.Coordinator).Explain(request, cancellationToken: Ct);
        var events = new List<ExplainResponse>();
        await foreach (var e in call.ResponseStream.ReadAllAsync(Ct)) events.Add(e);

        Assert.Equal(ExplainResponse.EventOneofCase.OriginalPrediction, events[0].EventCase);
        Assert.Equal(ExplainResponse.EventOneofCase.Summary, events[^1].EventCase);
        Assert.Single(events, e => e.EventCase == ExplainResponse.EventOneofCase.Reconstruction);
        Assert.Equal([0, 1, 2], events.Where(e => e.EventCase == ExplainResponse.EventOneofCase.Frame).Select(e => e.Frame.Index));
        Assert.Equal(3, events[^1].Summary.NumFrames);
        // The coordinator asked the served classifier, which answered as the model does in this process.
        using var local = OnnxClassifier.Open(Fixtures.Repository, "tiny_cnn_u8", options: new() { ExecutionProvider = Classifiers.Onnx.ExecutionProvider.Cpu, IntraOpThreads = 1 });
        Assert.Equal((await local.ClassifyAsync(new ImageBatch(image, 1, 1, 32, 32), Ct)).Probabilities, events[0].OriginalPrediction.Prediction.Probabilities);
    }
}
