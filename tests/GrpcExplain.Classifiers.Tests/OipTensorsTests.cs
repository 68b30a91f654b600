using Google.Protobuf;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifiers.Tests;

/// <summary>Tensors to and from the Open Inference Protocol's messages, and every malformed request the decoder refuses.</summary>
public class OipTensorsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RequestsAndResponsesRoundTrip(bool raw)
    {
        var image = Tensor.Fp32("image", [2, 3], [1, -2, 3.5f, float.Epsilon, 0, 7]);
        var mask = Tensor.Uint8("mask", [1, 3], [0, 128, 255]);
        var request = ModelInferRequest.Parser.ParseFrom(OipTensors.Request("m", "1", [image, mask], ["y"], raw).ToByteArray());
        Assert.Equal(raw ? 2 : 0, request.RawInputContents.Count);
        var back = OipTensors.ReadInputs(request);
        Assert.Equal(image.Floats, back[0].Floats);
        Assert.Equal(mask.Bytes, back[1].Bytes);
        Assert.Equal([1L, 3], back[1].Shape);
        var response = OipTensors.Response("m", "1", "id7", [image], raw);
        Assert.Equal(image.Floats, OipTensors.ReadOutput(response, "image").Floats);
        Assert.Throws<InvalidDataException>(() => OipTensors.ReadOutput(response, "other"));
    }

    [Fact]
    public void RawBytesAreLittleEndianFloat32()
    {
        var request = OipTensors.Request("m", "", [Tensor.Fp32("x", [1], [1f])], [], raw: true);
        Assert.Equal([0x00, 0x00, 0x80, 0x3F], request.RawInputContents[0].ToByteArray());
    }

    private static ModelInferRequest Typed(string datatype, long[] shape, Action<InferTensorContents> fill)
    {
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "image", Datatype = datatype, Contents = new InferTensorContents() };
        input.Shape.AddRange(shape);
        fill(input.Contents);
        var request = new ModelInferRequest { ModelName = "m" };
        request.Inputs.Add(input);
        return request;
    }

    private static ModelInferRequest Raw(string datatype, long[] shape, int bytes, int rawCount = 1)
    {
        var request = Typed(datatype, shape, _ => { });
        request.Inputs[0].Contents = null;
        for (int i = 0; i < rawCount; i++)
        {
            request.RawInputContents.Add(ByteString.CopyFrom(new byte[bytes]));
        }
        return request;
    }

    public static TheoryData<string, Func<ModelInferRequest>, string, string> Malformed => new()
    {
        { "unnamed", () => { var r = Typed("FP32", [1], c => c.Fp32Contents.Add(1)); r.Inputs[0].Name = ""; return r; }, "inputs[0].name", "no name" },
        { "FP16", () => Raw("FP16", [2], 4), "inputs[0].datatype", "'FP16' is not a data type this service takes" },
        { "negative dimension", () => Typed("FP32", [1, -3], _ => { }), "inputs[0].shape", "[1, -3] is not a tensor shape" },
        { "huge shape", () => Typed("FP32", [1L << 40, 1L << 40], c => c.Fp32Contents.Add(1)), "inputs[0].shape", "more than 2147483647 elements" },
        { "raw too short", () => Raw("FP32", [1, 3], 8), "raw_input_contents[0]", "8 bytes, but FP32 [1, 3] needs 12" },
        { "raw count", () => Raw("FP32", [1], 4, rawCount: 2), "raw_input_contents", "2 raw contents for 1 inputs" },
        { "raw and typed", () => { var r = Raw("FP32", [1], 4); r.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1 } }; return r; }, "inputs[0].contents", "both given" },
        { "too few values", () => Typed("FP32", [2, 2], c => c.Fp32Contents.Add([1, 2, 3])), "inputs[0].contents", "3 values in fp32_contents, but FP32 [2, 2] needs 4" },
        { "no contents", () => { var r = Typed("FP32", [1], _ => { }); r.Inputs[0].Contents = null; return r; }, "inputs[0].contents", "0 values in fp32_contents" },
        { "wrong field", () => Typed("FP32", [2], c => c.Fp64Contents.Add([1, 2])), "inputs[0].contents", "FP32 elements go in fp32_contents, not fp64_contents" },
        { "UINT8 over 255", () => Typed("UINT8", [2], c => c.UintContents.Add([1, 256])), "inputs[0].contents", "uint_contents[1] is 256, outside UINT8's 0..255" },
    };

    [Theory, MemberData(nameof(Malformed))]
    public void MalformedInputsAreNamed(string what, Func<ModelInferRequest> request, string field, string message)
    {
        var e = Assert.Throws<InvalidInputException>(() => OipTensors.ReadInputs(request()));
        var v = Assert.Single(e.Violations);
        Assert.True(v.Field == field && v.Description.Contains(message, StringComparison.Ordinal), $"{what}: {v.Field}: {v.Description}");
    }
}
