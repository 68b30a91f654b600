using System.Runtime.InteropServices;
using Google.Protobuf;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Weights;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ProtoTensor = GrpcExplain.Protos.V1.Tensor;

namespace GrpcExplain.EndToEnd.Tests;

/// <summary>
/// What the services must answer, computed in this process without them: StyleGan's generator on
/// the same CPU backend, and ONNX Runtime called directly on the same model file with the same threads.
/// </summary>
public static class Reference
{
    private static readonly Lazy<StyleGan.Generator> Grey32 = new(() =>
        new StyleGan.Generator(Backends.Create(BackendKind.Cpu), GeneratorWeights.Load(Fixtures.Weights)));

    // A Generator serves one call at a time, and the test classes run in parallel.
    private static readonly Lock Gate = new();

    public static float[] Synthesize(float[] ws, int batch)
    {
        lock (Gate) return Grey32.Value.Synthesize(ws, batch, NoiseMode.Const);
    }

    public static LatentGradient LatentGradient(float[] ws, int batch, float[] imageGradient, bool noise)
    {
        lock (Gate)
        {
            using var pass = Grey32.Value.Forward(ws, batch, NoiseMode.Const);
            return pass.Backward(imageGradient, noise);
        }
    }

    /// <summary>One FP32 input, every output, by ONNX Runtime on one CPU thread (as the served classifier runs it).</summary>
    public static Dictionary<string, float[]> OnnxRuntime(string model, string input, int[] shape, float[] values)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(Fixtures.Model(model), options);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(values, shape))]);
        return results.ToDictionary(r => r.Name, r => r.AsEnumerable<float>().ToArray());
    }

    public static ProtoTensor ToTensor(this float[] values, params long[] shape)
    {
        var tensor = new ProtoTensor { Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Shape.Add(shape);
        return tensor;
    }

    public static float[] Floats(this ByteString bytes) => MemoryMarshal.Cast<byte, float>(bytes.Span).ToArray();

    /// <summary>Deterministic values in about [-scale, scale], different for each <paramref name="seed"/>.</summary>
    public static float[] Values(int count, int seed, float scale = 1f) =>
        [.. Enumerable.Range(0, count).Select(i => scale * MathF.Sin(0.7f * i + seed))];
}
