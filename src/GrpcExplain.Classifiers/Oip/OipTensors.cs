using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Protobuf.Collections;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifiers.Oip;

/// <summary>
/// Our tensors to and from the Open Inference Protocol's messages, for the client and the server
/// alike: raw contents (little-endian bytes, one entry per tensor) or typed contents (fp32_contents,
/// uint_contents). Decoding checks sizes against the declared shape before it allocates anything,
/// so a request that claims a huge shape costs nothing.
/// </summary>
public static class OipTensors
{
    public static ModelInferRequest Request(string model, string version, IReadOnlyList<Tensor> inputs, IEnumerable<string> outputs, bool raw)
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version };
        foreach (var t in inputs)
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = t.Name, Datatype = DataTypes.Name(t.Type) };
            Encode(t, input.Shape, c => input.Contents = c, request.RawInputContents, raw);
            request.Inputs.Add(input);
        }
        foreach (string name in outputs)
        {
            request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = name });
        }
        return request;
    }

    /// <summary>The request's input tensors; InvalidInputException naming every malformed field.</summary>
    public static IReadOnlyList<Tensor> ReadInputs(ModelInferRequest request)
    {
        var v = new List<InputViolation>();
        int raw = request.RawInputContents.Count;
        if (raw > 0 && raw != request.Inputs.Count)
        {
            v.Add(new("raw_input_contents", $"{raw} raw contents for {request.Inputs.Count} inputs; give one per input, in the order of inputs"));
            throw new InvalidInputException(v);
        }
        var tensors = new List<Tensor>();
        for (int i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            var t = Decode($"inputs[{i}]", raw > 0 ? $"raw_input_contents[{i}]" : $"inputs[{i}].contents",
                input.Name, input.Datatype, input.Shape, input.Contents, raw > 0 ? request.RawInputContents[i] : null, v);
            if (t is not null)
            {
                tensors.Add(t);
            }
        }
        return v.Count > 0 ? throw new InvalidInputException(v) : tensors;
    }

    public static ModelInferResponse Response(string model, string version, string id, IReadOnlyList<Tensor> outputs, bool raw)
    {
        var response = new ModelInferResponse { ModelName = model, ModelVersion = version, Id = id };
        foreach (var t in outputs)
        {
            var output = new ModelInferResponse.Types.InferOutputTensor { Name = t.Name, Datatype = DataTypes.Name(t.Type) };
            Encode(t, output.Shape, c => output.Contents = c, response.RawOutputContents, raw);
            response.Outputs.Add(output);
        }
        return response;
    }

    /// <summary>One output of a response, raw or typed; InvalidDataException when the server's answer is malformed.</summary>
    public static Tensor ReadOutput(ModelInferResponse response, string name)
    {
        int index = response.Outputs.ToList().FindIndex(o => o.Name == name);
        if (index < 0)
        {
            throw new InvalidDataException($"The response has no output '{name}' (it has {string.Join(", ", response.Outputs.Select(o => o.Name))}).");
        }
        var output = response.Outputs[index];
        bool raw = response.RawOutputContents.Count > 0;
        if (raw && response.RawOutputContents.Count != response.Outputs.Count)
        {
            throw new InvalidDataException($"The response has {response.RawOutputContents.Count} raw contents for {response.Outputs.Count} outputs.");
        }
        var v = new List<InputViolation>();
        var t = Decode($"outputs[{index}]", raw ? $"raw_output_contents[{index}]" : $"outputs[{index}].contents",
            output.Name, output.Datatype, output.Shape, output.Contents, raw ? response.RawOutputContents[index] : null, v);
        return t ?? throw new InvalidDataException($"The response's output is malformed: {string.Join("; ", v.Select(x => $"{x.Field}: {x.Description}"))}");
    }

    public static TensorSpec Spec(ModelMetadataResponse.Types.TensorMetadata m) =>
        DataTypes.TryParse(m.Datatype, out var type)
            ? new TensorSpec(m.Name, type, [.. m.Shape])
            : throw new InvalidDataException($"Tensor '{m.Name}' has data type '{m.Datatype}'; a classifier here takes FP32 or UINT8 images and gives FP32 scores.");

    public static ModelMetadataResponse.Types.TensorMetadata Metadata(TensorSpec spec)
    {
        var m = new ModelMetadataResponse.Types.TensorMetadata { Name = spec.Name, Datatype = DataTypes.Name(spec.Type) };
        m.Shape.AddRange(spec.Shape);
        return m;
    }

    // Input and output tensors are different generated types with the same fields.
    private static void Encode(Tensor t, RepeatedField<long> shape, Action<InferTensorContents> setContents, RepeatedField<ByteString> rawContents, bool raw)
    {
        shape.AddRange(t.Shape);
        if (raw)
        {
            rawContents.Add(RawBytes(t));
        }
        else
        {
            setContents(Contents(t));
        }
    }

    private static ByteString RawBytes(Tensor t) =>
        t.Type == DataType.Fp32 ? ByteString.CopyFrom(MemoryMarshal.AsBytes(t.Floats.AsSpan())) : ByteString.CopyFrom(t.Bytes);

    private static InferTensorContents Contents(Tensor t)
    {
        var c = new InferTensorContents();
        if (t.Type == DataType.Fp32)
        {
            c.Fp32Contents.AddRange(t.Floats);
        }
        else
        {
            c.UintContents.AddRange(t.Bytes.Select(b => (uint)b));
        }
        return c;
    }

    private static Tensor? Decode(string field, string dataField, string name, string datatype, IList<long> shapeList,
        InferTensorContents? contents, ByteString? raw, List<InputViolation> v)
    {
        if (string.IsNullOrEmpty(name))
        {
            v.Add(new($"{field}.name", "the tensor has no name"));
            return null;
        }
        if (!DataTypes.TryParse(datatype, out var type))
        {
            v.Add(new($"{field}.datatype", $"'{datatype}' is not a data type this service takes (FP32 or UINT8)"));
            return null;
        }
        long[] shape = [.. shapeList];
        if (Tensor.ElementCount(shape) is not long count)
        {
            v.Add(new($"{field}.shape", $"[{string.Join(", ", shape)}] is not a tensor shape (a negative dimension, or more than {int.MaxValue} elements)"));
            return null;
        }
        if (raw is not null)
        {
            if (contents is not null && Counts(contents).Any(c => c.Count > 0))
            {
                v.Add(new($"{field}.contents", "contents and raw contents are both given; use one"));
                return null;
            }
            long bytes = count * DataTypes.ElementSize(type);
            if (raw.Length != bytes)
            {
                v.Add(new(dataField, $"{raw.Length} bytes, but {datatype} [{string.Join(", ", shape)}] needs {bytes}"));
                return null;
            }
            return type == DataType.Fp32
                ? Tensor.Fp32(name, shape, MemoryMarshal.Cast<byte, float>(raw.Span).ToArray())
                : Tensor.Uint8(name, shape, raw.ToByteArray());
        }
        string expectedField = type == DataType.Fp32 ? "fp32_contents" : "uint_contents";
        var counts = contents is null ? [] : Counts(contents);
        var stray = counts.Where(c => c.Count > 0 && c.Field != expectedField).Select(c => c.Field).ToList();
        int given = counts.FirstOrDefault(c => c.Field == expectedField).Count;
        if (stray.Count > 0)
        {
            v.Add(new(dataField, $"{datatype} elements go in {expectedField}, not {string.Join(", ", stray)}"));
            return null;
        }
        if (given != count)
        {
            v.Add(new(dataField, $"{given} values in {expectedField}, but {datatype} [{string.Join(", ", shape)}] needs {count}"));
            return null;
        }
        if (type == DataType.Fp32)
        {
            return Tensor.Fp32(name, shape, [.. contents!.Fp32Contents]);
        }
        var levels = new byte[count];
        for (int i = 0; i < levels.Length; i++)
        {
            uint u = contents!.UintContents[i];
            if (u > byte.MaxValue)
            {
                v.Add(new(dataField, $"uint_contents[{i}] is {u}, outside UINT8's 0..255"));
                return null;
            }
            levels[i] = (byte)u;
        }
        return Tensor.Uint8(name, shape, levels);
    }

    private static List<(string Field, int Count)> Counts(InferTensorContents c) =>
    [
        ("bool_contents", c.BoolContents.Count), ("int_contents", c.IntContents.Count), ("int64_contents", c.Int64Contents.Count),
        ("uint_contents", c.UintContents.Count), ("uint64_contents", c.Uint64Contents.Count), ("fp32_contents", c.Fp32Contents.Count),
        ("fp64_contents", c.Fp64Contents.Count), ("bytes_contents", c.BytesContents.Count),
    ];
}
