using Google.Rpc;
using Grpc.Core;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Classifiers.Tests;
using GrpcExplain.Inference;
using Output = GrpcExplain.Inference.ModelInferRequest.Types.InferRequestedOutputTensor;

namespace GrpcExplain.Classifier.Tests;

/// <summary>
/// A white-box model (reference.safetensors beside its ONNX graph) served over the Open Inference Protocol:
/// its metadata, the logit_gradient and grad_cam outputs against the reference CNN run directly, and the
/// requests that are refused.
/// </summary>
public class WhiteBoxServiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static Task<TestClassifierHost> StartAsync(WhiteBoxRepository repository, bool waitUntilReady = true) =>
        TestClassifierHost.StartAsync(o => o.ModelRepository = repository.Root, waitUntilReady);

    internal static ModelInferRequest Request(WhiteBoxRepository repository, string model, ImageBatch images, string[] outputs, int? targetClass, bool raw = true)
    {
        var input = Preprocessing.ToModelInput(repository.Config, images, 0, images.Count);
        var request = OipTensors.Request(model, "", [input], outputs, raw);
        if (targetClass is { } k) WhiteBoxOutputs.SetTargetClass(request, k);
        return request;
    }

    [Fact]
    public async Task MetadataListsTheWhiteBoxOutputsAfterTheModelsOwn()
    {
        using var repository = new WhiteBoxRepository();
        await using var host = await StartAsync(repository);
        var whiteBox = await host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = WhiteBoxRepository.WhiteBox }, cancellationToken: Ct);
        Assert.Equal([("logits", "FP32", "-1,3"), ("logit_gradient", "FP32", "-1,3,8,8"), ("grad_cam", "FP32", "-1,8,8")],
            whiteBox.Outputs.Select(o => (o.Name, o.Datatype, string.Join(",", o.Shape))));
        var blackBox = await host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = WhiteBoxRepository.BlackBox }, cancellationToken: Ct);
        Assert.Equal(["logits"], blackBox.Outputs.Select(o => o.Name));
        Assert.Equal(whiteBox.Inputs, blackBox.Inputs);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheOutputsAreTheReferenceCnnsOnTheInputTensorInTheOrderAsked(bool raw)
    {
        using var repository = new WhiteBoxRepository();
        await using var host = await StartAsync(repository);
        var images = WhiteBoxRepository.Images(2, seed: 1);
        var response = await host.Client.ModelInferAsync(Request(repository, WhiteBoxRepository.WhiteBox, images, [WhiteBoxOutputs.GradCam, "logits", WhiteBoxOutputs.LogitGradient], 2, raw),
            cancellationToken: Ct);
        Assert.Equal([WhiteBoxOutputs.GradCam, "logits", WhiteBoxOutputs.LogitGradient], response.Outputs.Select(o => o.Name));

        var input = Preprocessing.ToModelInput(repository.Config, images, 0, 2).Floats;
        using var network = repository.Network();
        var (logits, gradient) = network.LogitGradient(input, 2, 2);
        var gradientOutput = OipTensors.ReadOutput(response, WhiteBoxOutputs.LogitGradient);
        Assert.Equal([2L, 3, 8, 8], gradientOutput.Shape);
        Close.All(gradient, gradientOutput.Floats, atol: 1e-6f);
        Close.All(logits, OipTensors.ReadOutput(response, "logits").Floats, atol: 1e-4f, rtol: 1e-4f);
        var cam = OipTensors.ReadOutput(response, WhiteBoxOutputs.GradCam);
        Assert.Equal([2L, 8, 8], cam.Shape);
        int length = 3 * 8 * 8;
        float[] expected = [.. network.GradCam(input[..length], 2), .. network.GradCam(input[length..], 2)];
        Close.All(expected, cam.Floats, atol: 1e-6f);
        Assert.All(cam.Floats, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public async Task OnlyTheWhiteBoxOutputsWhenOnlyTheyAreAskedForAndTheOnnxOutputsWhenNoneIs()
    {
        using var repository = new WhiteBoxRepository();
        await using var host = await StartAsync(repository);
        var images = WhiteBoxRepository.Images(1, seed: 2);
        var cam = await host.Client.ModelInferAsync(Request(repository, WhiteBoxRepository.WhiteBox, images, [WhiteBoxOutputs.GradCam], 0), cancellationToken: Ct);
        Assert.Equal([WhiteBoxOutputs.GradCam], cam.Outputs.Select(o => o.Name));
        var all = await host.Client.ModelInferAsync(Request(repository, WhiteBoxRepository.WhiteBox, images, [], null), cancellationToken: Ct);
        Assert.Equal(["logits"], all.Outputs.Select(o => o.Name));
        Assert.Contains(host.Logs.Lines, l => l.Contains("batch 1 with grad_cam", StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string[], Action<ModelInferRequest>, string, string> Refused => new()
    {
        { "no target_class", WhiteBoxRepository.WhiteBox, [WhiteBoxOutputs.LogitGradient], r => r.Parameters.Remove(WhiteBoxOutputs.TargetClassParameter),
            "parameters[target_class]", "is missing: logit_gradient of model 'reference_cnn' are computed for one class; give 'target_class' as an int64 parameter, a class index from 0 to 2" },
        { "target_class too large", WhiteBoxRepository.WhiteBox, [WhiteBoxOutputs.GradCam], r => WhiteBoxOutputs.SetTargetClass(r, 3),
            "parameters[target_class]", "is 3; model 'reference_cnn' has 3 classes, so give a class index from 0 to 2" },
        { "negative target_class", WhiteBoxRepository.WhiteBox, [WhiteBoxOutputs.GradCam, "logits"], r => WhiteBoxOutputs.SetTargetClass(r, -1),
            "parameters[target_class]", "is -1;" },
        { "target_class as a string", WhiteBoxRepository.WhiteBox, [WhiteBoxOutputs.LogitGradient],
            r => r.Parameters[WhiteBoxOutputs.TargetClassParameter] = new InferParameter { StringParam = "b" },
            "parameters[target_class]", "is a StringParam parameter; it must be int64_param" },
        { "asked twice", WhiteBoxRepository.WhiteBox, [WhiteBoxOutputs.GradCam, WhiteBoxOutputs.GradCam], r => WhiteBoxOutputs.SetTargetClass(r, 0),
            "outputs[1].name", "output 'grad_cam' is asked for twice" },
        { "a black box's gradient", WhiteBoxRepository.BlackBox, ["logits", WhiteBoxOutputs.LogitGradient], r => WhiteBoxOutputs.SetTargetClass(r, 0),
            "outputs[1].name", "model 'black_box' is a black box (its folder has no reference.safetensors), so it gives no 'logit_gradient'; its outputs are logits" },
    };

    [Theory, MemberData(nameof(Refused))]
    public async Task IsRefusedWithInvalidArgumentSayingWhy(string what, string model, string[] outputs, Action<ModelInferRequest> change, string field, string message)
    {
        using var repository = new WhiteBoxRepository();
        await using var host = await StartAsync(repository);
        var request = Request(repository, model, WhiteBoxRepository.Images(1, seed: 3), outputs, 1);
        change(request);
        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(request, cancellationToken: Ct).ResponseAsync);
        Assert.True(e.StatusCode == StatusCode.InvalidArgument && e.Status.Detail.Contains(message, StringComparison.Ordinal), $"{what}: {e.StatusCode} {e.Status.Detail}");
        Assert.Contains(e.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations, v => v.Field == field && v.Description.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AReferenceNetworkThatIsNotTheOnnxGraphsIsNotServed()
    {
        using var repository = new WhiteBoxRepository(withStale: true);
        await using var host = await StartAsync(repository, waitUntilReady: false);
        var store = host.Create<ModelStoreProbe>();
        await store.UntilLoadedAsync(Ct);
        Assert.False((await host.Client.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: Ct)).Ready);
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = WhiteBoxRepository.Stale }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("Model 'stale_reference' is not served: its reference.safetensors did not load:", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("is not the network of", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("write both from the same weights", e.Status.Detail, StringComparison.Ordinal);
        // The others are served as before.
        Assert.Equal(3, (await host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = WhiteBoxRepository.WhiteBox }, cancellationToken: Ct)).Outputs.Count);
    }
}

/// <summary>Waits for the host's model store to finish loading, whether or not it became ready.</summary>
internal sealed class ModelStoreProbe(ModelStore store)
{
    public async Task UntilLoadedAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (store.Repository is null && store.Failure is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "The model store did not finish loading in 20 s.");
            await Task.Delay(10, cancellationToken);
        }
    }
}
