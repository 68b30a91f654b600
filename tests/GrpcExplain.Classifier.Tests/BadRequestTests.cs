using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifier.Tests;

/// <summary>
/// Every kind of bad request, its status, what the message says, and the BadRequest field it names.
/// After each, a good request still succeeds: no input crashes or wedges the service.
/// </summary>
public class BadRequestTests
{
    private static ModelInferRequest Images(int n, string model = "tiny_cnn", bool raw = true, float poison = 0, int poisonAt = -1) =>
        OipTensors.Request(model, "", [Tensor.Fp32("image", [n, 3, 32, 32], Pixels(n * 3 * 32 * 32, poison, poisonAt))], [], raw);

    private static float[] Pixels(int count, float poison, int at)
    {
        var p = new float[count];
        if (at >= 0)
        {
            p[at] = poison;
        }
        return p;
    }

    private static ModelInferRequest With(ModelInferRequest r, Action<ModelInferRequest> change)
    {
        change(r);
        return r;
    }

    public static TheoryData<string, Func<ModelInferRequest>, StatusCode, string, string?> Cases => new()
    {
        { "no model name", () => With(Images(1), r => r.ModelName = ""), StatusCode.InvalidArgument, "no model name given", "model_name" },
        { "unknown model", () => Images(1, model: "resnet"), StatusCode.NotFound, "No model 'resnet'; this server has tiny_cnn, tiny_cnn_u8.", null },
        { "unknown version", () => With(Images(1), r => r.ModelVersion = "3"), StatusCode.NotFound, "Model 'tiny_cnn' has no version '3'; it has 1.", null },
        { "no inputs", () => new ModelInferRequest { ModelName = "tiny_cnn" }, StatusCode.InvalidArgument, "input 'image' (image FP32 [-1, 3, 32, 32]) is missing", "inputs" },
        { "empty batch", () => Images(0), StatusCode.InvalidArgument, "the batch of input 'image' is empty", "inputs[0].shape" },
        { "oversized batch", () => Images(3), StatusCode.InvalidArgument, "a batch of 3 is larger than this model's limit of 2", "inputs[0].shape" },
        { "wrong image size", () => OipTensors.Request("tiny_cnn", "", [Tensor.Fp32("image", [1, 3, 16, 16], new float[768])], [], true),
            StatusCode.InvalidArgument, "input 'image' has shape [-1, 3, 32, 32] (-1: any size), got [1, 3, 16, 16]", "inputs[0].shape" },
        { "wrong layout", () => OipTensors.Request("tiny_cnn", "", [Tensor.Fp32("image", [1, 32, 32, 3], new float[3072])], [], true),
            StatusCode.InvalidArgument, "got [1, 32, 32, 3]", "inputs[0].shape" },
        { "UINT8 for an FP32 model", () => OipTensors.Request("tiny_cnn", "", [Tensor.Uint8("image", [1, 3, 32, 32], new byte[3072])], [], true),
            StatusCode.InvalidArgument, "input 'image' is FP32, got UINT8", "inputs[0].datatype" },
        { "FP32 for a UINT8 model", () => OipTensors.Request("tiny_cnn_u8", "", [Tensor.Fp32("image", [1, 32, 32, 1], new float[1024])], [], true),
            StatusCode.InvalidArgument, "input 'image' is UINT8, got FP32", "inputs[0].datatype" },
        { "unsupported datatype", () => With(Images(1), r => r.Inputs[0].Datatype = "FP16"), StatusCode.InvalidArgument, "'FP16' is not a data type this service takes", "inputs[0].datatype" },
        { "NaN", () => Images(1, poison: float.NaN, poisonAt: 100), StatusCode.InvalidArgument, "holds NaN or infinity (element 100)", "inputs[0].contents" },
        { "infinity, typed contents", () => Images(1, raw: false, poison: float.NegativeInfinity, poisonAt: 5), StatusCode.InvalidArgument, "holds NaN or infinity (element 5)", "inputs[0].contents" },
        { "raw bytes short", () => With(Images(1), r => r.RawInputContents[0] = ByteString.CopyFrom(new byte[100])), StatusCode.InvalidArgument,
            "100 bytes, but FP32 [1, 3, 32, 32] needs 12288", "raw_input_contents[0]" },
        { "raw entries and inputs disagree", () => With(Images(1), r => r.RawInputContents.Add(ByteString.Empty)), StatusCode.InvalidArgument,
            "2 raw contents for 1 inputs", "raw_input_contents" },
        { "typed values short", () => With(Images(1, raw: false), r => r.Inputs[0].Contents.Fp32Contents.RemoveAt(0)), StatusCode.InvalidArgument,
            "3071 values in fp32_contents, but FP32 [1, 3, 32, 32] needs 3072", "inputs[0].contents" },
        { "claims a huge shape", () => With(Images(1), r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add([1L << 20, 3, 1L << 20, 32]); }),
            StatusCode.InvalidArgument, "is not a tensor shape", "inputs[0].shape" },
        { "negative dimension", () => With(Images(1), r => r.Inputs[0].Shape[0] = -1), StatusCode.InvalidArgument, "is not a tensor shape", "inputs[0].shape" },
        { "unknown input name", () => With(Images(1), r => r.Inputs[0].Name = "pixels"), StatusCode.InvalidArgument, "the model has no input 'pixels'", "inputs[0].name" },
        { "unknown output", () => With(Images(1), r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "probs" })),
            StatusCode.InvalidArgument, "the model has no output 'probs'", "outputs[0].name" },
    };

    [Theory, MemberData(nameof(Cases))]
    public async Task IsRefusedWithAStatusThatSaysWhatIsWrong(string what, Func<ModelInferRequest> request, StatusCode code, string message, string? field)
    {
        await using var host = await TestClassifierHost.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(request(), cancellationToken: ct).ResponseAsync);
        Assert.True(e.StatusCode == code && e.Status.Detail.Contains(message, StringComparison.Ordinal), $"{what}: {e.StatusCode} {e.Status.Detail}");
        var status = e.GetRpcStatus();
        Assert.NotNull(status);
        if (field is not null)
        {
            var badRequest = status.GetDetail<BadRequest>();
            Assert.NotNull(badRequest);
            Assert.Contains(badRequest.FieldViolations, v => v.Field == field && v.Description.Contains(message, StringComparison.Ordinal));
        }
        else
        {
            Assert.Equal("model", status.GetDetail<ResourceInfo>()?.ResourceType);
        }
        var ok = await host.Client.ModelInferAsync(Images(2), cancellationToken: ct);
        Assert.Equal([2L, 2], ok.Outputs[0].Shape);
    }

    [Theory]
    [InlineData("")]
    [InlineData("resnet")]
    public async Task MetadataAndReadinessOfUnknownModels(string name)
    {
        await using var host = await TestClassifierHost.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var code = name == "" ? StatusCode.InvalidArgument : StatusCode.NotFound;
        Assert.Equal(code, (await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = name }, cancellationToken: ct).ResponseAsync)).StatusCode);
        Assert.Equal(code, (await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelReadyAsync(new ModelReadyRequest { Name = name }, cancellationToken: ct).ResponseAsync)).StatusCode);
    }
}
