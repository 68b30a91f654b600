using System.Runtime.InteropServices;
using Google.Protobuf;

namespace GrpcExplain.Classifiers.Onnx;

/// <summary>
/// Writes ONNX models without the onnx package: an ONNX file is a protobuf ModelProto, and this writes
/// the few fields a plain float graph needs, with onnx.proto's field numbers: ModelProto ir_version 1,
/// producer_name 2, graph 7, opset_import 8 (OperatorSetIdProto domain 1, version 2); GraphProto node 1,
/// name 2, initializer 5, input 11, output 12; NodeProto input 1, output 2, name 3, op_type 4,
/// attribute 5; AttributeProto name 1, i 3, ints 8, type 20 (INT 2, INTS 7); TensorProto dims 1,
/// data_type 2, name 8, raw_data 9; ValueInfoProto name 1, type 2; TypeProto tensor_type 1; its elem_type
/// 1, shape 2; TensorShapeProto dim 1; Dimension dim_value 1, dim_param 2.
/// </summary>
internal static class OnnxProtoWriter
{
    private const int Float = 1;
    private const int AttributeInt = 2, AttributeInts = 7;

    /// <summary>A ModelProto (IR version 8, the default operator set at <paramref name="opset"/>) around one graph.</summary>
    public static byte[] Model(byte[] graph, string producer, int opset = 13) => Message(m =>
    {
        m.Int(1, 8);
        m.String(2, producer);
        m.Bytes(7, graph);
        m.Bytes(8, Message(o => { o.String(1, ""); o.Int(2, opset); }));
    });

    public static byte[] Graph(string name, IEnumerable<byte[]> nodes, IEnumerable<byte[]> initializers, IEnumerable<byte[]> inputs, IEnumerable<byte[]> outputs) => Message(g =>
    {
        foreach (var n in nodes) g.Bytes(1, n);
        g.String(2, name);
        foreach (var i in initializers) g.Bytes(5, i);
        foreach (var i in inputs) g.Bytes(11, i);
        foreach (var o in outputs) g.Bytes(12, o);
    });

    public static byte[] Node(string[] inputs, string[] outputs, string name, string op, params byte[][] attributes) => Message(n =>
    {
        foreach (var i in inputs) n.String(1, i);
        foreach (var o in outputs) n.String(2, o);
        n.String(3, name);
        n.String(4, op);
        foreach (var a in attributes) n.Bytes(5, a);
    });

    public static byte[] IntAttribute(string name, long value) => Message(a =>
    {
        a.String(1, name);
        a.Int(3, value);
        a.Int(20, AttributeInt);
    });

    public static byte[] IntsAttribute(string name, params long[] values) => Message(a =>
    {
        a.String(1, name);
        foreach (long v in values) a.Int(8, v);
        a.Int(20, AttributeInts);
    });

    /// <summary>A float32 constant, its values as little-endian raw data.</summary>
    public static byte[] Initializer(string name, long[] dims, float[] values) => Message(t =>
    {
        foreach (long d in dims) t.Int(1, d);
        t.Int(2, Float);
        t.String(8, name);
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
            for (int i = 0; i < bytes.Length; i += 4) Array.Reverse(bytes, i, 4);
        t.Bytes(9, bytes);
    });

    /// <summary>A float tensor's name and shape; null dimensions are the batch, "N".</summary>
    public static byte[] ValueInfo(string name, long?[] dims) => Message(v =>
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
