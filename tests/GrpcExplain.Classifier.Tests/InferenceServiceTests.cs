using Google.Protobuf;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Classifiers.Tests;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifier.Tests;

/// <summary>The protocol's RPCs as a Triton client would call them.</summary>
public class InferenceServiceTests
{
    [Fact]
    public async Task ServerLiveReadyAndMetadata()
    {
        await using var host = await TestClassifierHost.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        Assert.True((await host.Client.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: ct)).Live);
        Assert.True((await host.Client.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: ct)).Ready);
        var server = await host.Client.ServerMetadataAsync(new ServerMetadataRequest(), cancellationToken: ct);
        Assert.Equal("grpcexplain-classifier", server.Name);
        Assert.NotEmpty(server.Version);
        Assert.True((await host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "tiny_cnn", Version = "1" }, cancellationToken: ct)).Ready);
        Assert.True((await host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "tiny_cnn_u8" }, cancellationToken: ct)).Ready);
    }

    [Fact]
    public async Task ModelMetadataIsWhatTheModelDeclares()
    {
        await using var host = await TestClassifierHost.StartAsync();
        var m = await host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "tiny_cnn" }, cancellationToken: TestContext.Current.CancellationToken);
        var expected = new ModelMetadataResponse { Name = "tiny_cnn", Platform = "onnxruntime_onnx", Versions = { "1" } };
        expected.Inputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = "image", Datatype = "FP32", Shape = { -1, 3, 32, 32 } });
        expected.Outputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = "logits", Datatype = "FP32", Shape = { -1, 2 } });
        Assert.Equal(expected, m);
        var u8 = await host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "tiny_cnn_u8", Version = "1" }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("UINT8", u8.Inputs[0].Datatype);
        Assert.Equal([-1L, 32, 32, 1], u8.Inputs[0].Shape);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ModelInferAnswersInTheRequestsEncoding(bool raw)
    {
        await using var host = await TestClassifierHost.StartAsync();
        var c = Fixtures.Case("tiny_cnn_u8");
        var request = OipTensors.Request("tiny_cnn_u8", "", [Tensor.Uint8("image", [2, 32, 32, 1], c.ModelInput!)], [], raw);
        request.Id = "request-7";
        var response = await host.Client.ModelInferAsync(request, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(("tiny_cnn_u8", "1", "request-7"), (response.ModelName, response.ModelVersion, response.Id));
        Assert.Equal(raw ? 1 : 0, response.RawOutputContents.Count);
        var output = Assert.Single(response.Outputs);
        Assert.Equal(("logit", "FP32"), (output.Name, output.Datatype));
        Assert.Equal(c.OutputsShape, output.Shape);
        Close.All(c.Outputs, OipTensors.ReadOutput(response, "logit").Floats);
    }

    [Fact]
    public async Task RawRequestBytesAsATritonClientWritesThem()
    {
        // What tritonclient's InferInput.set_data_from_numpy sends: shape, "FP32", little-endian bytes.
        await using var host = await TestClassifierHost.StartAsync();
        var config = Fixtures.Config("tiny_cnn");
        var input = Preprocessing.ToModelInput(config, Fixtures.Case("tiny_cnn").Batch, 0, 1);
        var request = new ModelInferRequest { ModelName = "tiny_cnn" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "image", Datatype = "FP32", Shape = { 1, 3, 32, 32 } });
        var bytes = new byte[input.Floats.Length * 4];
        Buffer.BlockCopy(input.Floats, 0, bytes, 0, bytes.Length);
        request.RawInputContents.Add(ByteString.CopyFrom(bytes));
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "logits" });
        var response = await host.Client.ModelInferAsync(request, cancellationToken: TestContext.Current.CancellationToken);
        var logits = new float[2];
        Buffer.BlockCopy(response.RawOutputContents[0].ToByteArray(), 0, logits, 0, 8);
        Close.All(Fixtures.Case("tiny_cnn").Outputs[..2], logits);
    }
}
