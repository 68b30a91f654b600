using Google.Protobuf;

namespace GrpcExplain.Classifiers.Onnx;

/// <summary>
/// Writes a one-layer ONNX classifier, logit = W·flatten(image) + b, without the onnx package: an ONNX
/// file is a protobuf ModelProto, and this writes the few fields such a graph needs (onnx.proto's field
/// numbers: ModelProto ir_version 1, producer_name 2, graph 7, opset_import 8; GraphProto node 1, name 2,
/// initializer 5, input 11, output 12; NodeProto input 1, output 2, name 3, op_type 4; TensorProto dims 1,
/// data_type 2, name 8, raw_data 9; ValueInfoProto name 1, type 2; TypeProto tensor_type 1; its elem_type 1,
/// shape 2; TensorShapeProto dim 1; Dimension dim_value 1, dim_param 2). Classifiers built to depend
/// on a known latent direction (the coordinator's tests, the bundled synthetic model pairing) are such
/// graphs; ONNX Runtime reads them like any exported model.
/// </summary>
public static class OnnxLinearModel
{
    private const int Float = 1;

    /// <summary>The model's bytes: input "image" FP32 [N, channels, size, size], output "logit" FP32 [N, 1].</summary>
    public static byte[] Write(float[] weight, float bias, int channels, int size, string producer = "grpcexplain")
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Length != channels * size * size) throw new ArgumentException("One weight per input value.", nameof(weight));
        byte[] graph = Message(g =>
        {
            g.Bytes(1, Node(["image"], ["flat"], "flatten", "Flatten"));
            g.Bytes(1, Node(["flat", "W", "B"], ["logit"], "linear", "Gemm"));
            g.String(2, "latent_direction_probe");
            g.Bytes(5, Initializer("W", [weight.Length, 1], weight));
            g.Bytes(5, Initializer("B", [1], [bias]));
            g.Bytes(11, ValueInfo("image", [null, channels, size, size]));
            g.Bytes(12, ValueInfo("logit", [null, 1]));
        });
        return Message(m =>
        {
            m.Int(1, 8);
            m.String(2, producer);
            m.Bytes(7, graph);
            m.Bytes(8, Message(o => { o.String(1, ""); o.Int(2, 13); }));
        });
    }

    private static byte[] Node(string[] inputs, string[] outputs, string name, string op) => Message(n =>
    {
        foreach (var i in inputs) n.String(1, i);
        foreach (var o in outputs) n.String(2, o);
        n.String(3, name);
        n.String(4, op);
    });

    private static byte[] Initializer(string name, long[] dims, float[] values) => Message(t =>
    {
        foreach (long d in dims) t.Int(1, d);
        t.Int(2, Float);
        t.String(8, name);
        t.Bytes(9, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    });

    /// <summary>A float tensor's name and shape; null dimensions are the batch, "N".</summary>
    private static byte[] ValueInfo(string name, long?[] dims) => Message(v =>
    {
        v.String(1, name);
        v.Bytes(2, Message(type => type.Bytes(1, Message(tensor =>
        {
            tensor.Int(1, Float);
            tensor.Bytes(2, Message(shape =>
            {
                foreach (var d in dims) shape.Bytes(1, Message(dim => { if (d is { } value) dim.Int(1, value); else dim.String(2, "N"); }));
            }));
        }))));
    });

    private static byte[] Message(Action<Writer> fields)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        fields(new Writer(output));
        output.Flush();
        return stream.ToArray();
    }

    private sealed class Writer(CodedOutputStream output)
    {
        public void Int(int field, long value)
        {
            output.WriteTag(field, WireFormat.WireType.Varint);
            output.WriteInt64(value);
        }

        public void String(int field, string value)
        {
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteString(value);
        }

        public void Bytes(int field, byte[] value)
        {
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(value));
        }
    }
}
