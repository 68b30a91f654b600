using Google.Protobuf;
using Grpc.Core;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Inference;
using GrpcExplain.Protos.V1;
using ProtoTensor = GrpcExplain.Protos.V1.Tensor;

namespace GrpcExplain.EndToEnd.Tests;

/// <summary>
/// Bad requests to both services over the real socket, each answered with its status code and a
/// message that says what was wrong, and each followed by a good request (the service still serves).
/// A representative table: the per-service test projects hold the full ones. The generator is grey32
/// (w_dim 32, num_ws 8, z_dim 32, images [1, 32, 32]) with a batch limit of 4; both services take
/// messages of at most 1 MiB.
/// </summary>
public class BadInputTests(ServeAll serve)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed record Case(string Service, Func<ServeAll, Task> Call, StatusCode Code, string Message);

    private static readonly float[] TwoWs = Reference.Values(2 * 32, seed: 1);

    private static ProtoTensor Raw(long[] shape, int bytes) => new() { Shape = { shape }, Data = ByteString.CopyFrom(new byte[bytes]) };

    private static Task<SynthesizeResponse> Synthesize(ServeAll s, SynthesizeRequest r) => s.GeneratorClient.SynthesizeAsync(r, cancellationToken: Ct).ResponseAsync;

    private static Task<ModelInferResponse> Infer(ServeAll s, ModelInferRequest r) => s.ClassifierClient.ModelInferAsync(r, cancellationToken: Ct).ResponseAsync;

    private static ModelInferRequest Images(string model, string version, long[] shape) =>
        OipTensors.Request(model, version, [Classifiers.Tensor.Fp32("image", shape, new float[shape.Aggregate(1L, (a, d) => a * d)])], [], raw: true);

    private static readonly Dictionary<string, Case> Table = new()
    {
        ["generator: ws missing"] = new("generator", s => Synthesize(s, new() { IncludeTensor = true }), StatusCode.InvalidArgument,
            "SynthesizeRequest is invalid: ws: is missing."),
        ["generator: ws of the wrong w_dim"] = new("generator", s => Synthesize(s, new() { Ws = new float[62].ToTensor(2, 31), IncludeTensor = true }), StatusCode.InvalidArgument,
            "ws.shape: [2, 31] does not fit this generator: expected [N, w_dim] = [N, 32] (w) or [N, num_ws, w_dim] = [N, 8, 32] (W+)."),
        ["generator: ws bytes short of its shape"] = new("generator", s => Synthesize(s, new() { Ws = Raw([2, 32], 12), IncludeTensor = true }), StatusCode.InvalidArgument,
            "ws.data: holds 12 bytes; shape [2, 32] needs 256"),
        ["generator: NaN in ws"] = new("generator", s => Synthesize(s, new() { Ws = TwoWs.Select((v, i) => i == 40 ? float.NaN : v).ToArray().ToTensor(2, 32), IncludeTensor = true }),
            StatusCode.InvalidArgument, "ws.data: holds a non-finite value (NaN) at element 40 (sample 1)"),
        ["generator: batch over the limit"] = new("generator", s => Synthesize(s, new() { Ws = new float[5 * 32].ToTensor(5, 32), IncludeTensor = true }), StatusCode.InvalidArgument,
            "holds 5 samples, more than the 4 a request may carry"),
        ["generator: no output asked for"] = new("generator", s => Synthesize(s, new() { Ws = TwoWs.ToTensor(2, 32) }), StatusCode.InvalidArgument,
            "neither include_tensor nor include_png is set"),
        ["generator: image gradient of the wrong shape"] = new("generator", s => s.GeneratorClient.LatentGradientAsync(new LatentGradientRequest
            {
                Ws = TwoWs.ToTensor(2, 32), ImageGradient = new float[2 * 3 * 32 * 32].ToTensor(2, 3, 32, 32),
            }, cancellationToken: Ct).ResponseAsync, StatusCode.InvalidArgument,
            "image_gradient.shape: [2, 3, 32, 32] does not fit this generator: expected [N, image_channels, res, res] = [2, 1, 32, 32]"),
        ["generator: z of the wrong z_dim"] = new("generator", s => s.GeneratorClient.MapLatentsAsync(new MapLatentsRequest { Z = new float[5].ToTensor(1, 5) }, cancellationToken: Ct).ResponseAsync,
            StatusCode.InvalidArgument, "z.shape: [1, 5] does not fit this generator: expected [N, z_dim] = [N, 32]."),
        ["generator: message over the limit"] = new("generator", s => Synthesize(s, new() { Ws = new float[9600 * 32].ToTensor(9600, 32), IncludeTensor = true }), StatusCode.ResourceExhausted,
            "Received message exceeds the maximum configured message size."),
        ["generator: unknown noise mode"] = new("generator", s => Synthesize(s, new() { Ws = TwoWs.ToTensor(2, 32), IncludeTensor = true, NoiseMode = (NoiseMode)7 }),
            StatusCode.InvalidArgument, "noise_mode: 7 is not a NoiseMode: use NOISE_MODE_CONST, NOISE_MODE_RANDOM or NOISE_MODE_NONE."),
        ["classifier: no model name"] = new("classifier", s => Infer(s, Images("", "", [1, 3, 32, 32])), StatusCode.InvalidArgument,
            "no model name given"),
        ["classifier: unknown model"] = new("classifier", s => Infer(s, Images("no_such_model", "", [1, 3, 32, 32])), StatusCode.NotFound,
            "No model 'no_such_model'; this server has tiny_cnn, tiny_cnn_u8."),
        ["classifier: unknown version"] = new("classifier", s => Infer(s, Images("tiny_cnn", "7", [1, 3, 32, 32])), StatusCode.NotFound,
            "Model 'tiny_cnn' has no version '7'; it has 1."),
        ["classifier: image of the wrong size"] = new("classifier", s => Infer(s, Images("tiny_cnn", "", [1, 3, 31, 31])), StatusCode.InvalidArgument,
            "inputs[0].shape: input 'image' has shape [-1, 3, 32, 32] (-1: any size), got [1, 3, 31, 31]"),
        ["classifier: raw contents short of the shape"] = new("classifier", s =>
            {
                var request = Images("tiny_cnn", "", [1, 3, 32, 32]);
                request.RawInputContents[0] = ByteString.CopyFrom(new byte[100]);
                return Infer(s, request);
            }, StatusCode.InvalidArgument, "raw_input_contents[0]: 100 bytes, but FP32 [1, 3, 32, 32] needs 12288"),
        ["classifier: unknown datatype"] = new("classifier", s =>
            {
                var request = Images("tiny_cnn", "", [1, 3, 32, 32]);
                request.Inputs[0].Datatype = "FP16";
                return Infer(s, request);
            }, StatusCode.InvalidArgument, "inputs[0].datatype: 'FP16' is not a data type this service takes (FP32 or UINT8)"),
        ["classifier: metadata without a name"] = new("classifier", s => s.ClassifierClient.ModelMetadataAsync(new ModelMetadataRequest(), cancellationToken: Ct).ResponseAsync,
            StatusCode.InvalidArgument, "no model name given"),
        ["classifier: message over the limit"] = new("classifier", s => Infer(s, Images("tiny_cnn", "", [100, 3, 32, 32])), StatusCode.ResourceExhausted,
            "Received message exceeds the maximum configured message size."),
    };

    public static TheoryData<string> Cases => [.. Table.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task IsAnsweredWithItsCodeAndWhatWasWrong(string name)
    {
        var c = Table[name];
        var e = await Assert.ThrowsAsync<RpcException>(() => c.Call(serve));
        Assert.Equal(c.Code, e.StatusCode);
        Assert.Contains(c.Message, e.Status.Detail, StringComparison.Ordinal);

        // The same service still answers a good request.
        if (c.Service == "generator")
            Assert.Equal(2, (await serve.GeneratorClient.SynthesizeAsync(new SynthesizeRequest { Ws = TwoWs.ToTensor(2, 32), IncludeTensor = true }, cancellationToken: Ct)).Images.Shape[0]);
        else
            Assert.Equal("tiny_cnn", (await serve.ClassifierClient.ModelInferAsync(Images("tiny_cnn", "", [1, 3, 32, 32]), cancellationToken: Ct)).ModelName);
    }
}
