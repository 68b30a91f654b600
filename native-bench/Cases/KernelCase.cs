using GrpcExplain.Kernels;

namespace NativeBench.Cases;

internal enum Direction { Forward, Backward }

internal static class DirectionNames
{
    public static string Name(this Direction d) => d == Direction.Forward ? "forward" : "backward";
}

/// <summary>
/// One op at one shape, as llm.c's dev/cuda files hold one: what a call costs, how to run it on a
/// backend, and what the double-precision reference says it must produce.
/// FLOPs count 2 per multiply-add of the op's arithmetic (element-wise ops: the nominal operations per
/// element); bytes are the compulsory float32 traffic, every input read once and every output written once.
/// Backward computes the gradient of every input, style and parameter, as training needs.
/// </summary>
internal abstract class KernelCase
{
    /// <summary>The row's op name, e.g. "modulated_conv3x3".</summary>
    public abstract string Op { get; }

    /// <summary>The row's shape, e.g. "N1_I256_O256_H32_W32" (H and W of the input map).</summary>
    public abstract string ShapeName { get; }

    public abstract int Batch { get; }
    public string Key => $"{Op} {ShapeName}";

    /// <summary>What a forward and a backward call cost, as the op's parameters in GrpcExplain.Kernels count it.</summary>
    protected abstract (KernelCost Forward, KernelCost Backward) Cost { get; }

    public long Flops(Direction d) => (d == Direction.Forward ? Cost.Forward : Cost.Backward).Flops;
    public long Bytes(Direction d) => (d == Direction.Forward ? Cost.Forward : Cost.Backward).Bytes;

    /// <summary>The same op at a shape the reference computes in moments (see <see cref="Cap"/>).</summary>
    public abstract KernelCase Reduced();

    /// <summary>The plain convolution the OpenBLAS baseline times for this row, if it has one.</summary>
    public virtual BaselineConv? Baseline => null;

    /// <summary>Uploads the case's inputs and allocates its outputs on the backend.</summary>
    public abstract Bound Bind(Backend b);

    /// <summary>The reference outputs, in the order <see cref="Bound"/> downloads them.</summary>
    public abstract double[][] Expected(Direction d);
}

/// <summary>A case's tensors on one backend, with the forward and backward calls ready to time.</summary>
internal sealed class Bound(Backend backend, Action forward, Action backward, Func<Direction, Tensor[]> outputs,
    bool backwardNeedsForward, params Tensor[] tensors) : IDisposable
{
    public Backend Backend => backend;

    /// <summary>Backward reads the forward output (y), so forward must run once before it.</summary>
    public bool BackwardNeedsForward => backwardNeedsForward;

    public Action Call(Direction d) => d == Direction.Forward ? forward : backward;

    public float[][] Download(Direction d) => [.. outputs(d).Select(backend.Download)];

    public void Dispose()
    {
        foreach (var t in tensors) t.Dispose();
    }
}

/// <summary>The plain convolution (im2col + sgemm) that stands in for a row in the OpenBLAS baseline.</summary>
internal sealed record BaselineConv(int N, int I, int O, int H, int W, int K, int Stride, int Padding)
{
    /// <summary>The argument conv_bench reads: op/direction/N,I,O,H,W,k,stride,pad.</summary>
    public string Spec(string op, Direction d) => $"{op}/{d.Name()}/{N},{I},{O},{H},{W},{K},{Stride},{Padding}";
}

/// <summary>
/// How a shape shrinks for validation: channels and map sizes above 32 become 32 plus their remainder
/// modulo 16 (so 513 channels stay an odd count and a 33-pixel map stays odd, keeping the vector-width
/// tails the full shape exercises), batch above 2 becomes 2 (still catching per-sample mix-ups).
/// </summary>
internal static class Cap
{
    public static int Channels(int c) => c <= 32 ? c : 32 + c % 16;
    public static int Size(int s) => s <= 32 ? s : 32 + s % 16;
    public static int Batch(int n) => Math.Min(n, 2);
}

/// <summary>Deterministic inputs: the same seed gives the same tensor in Bind and in Expected.</summary>
internal static class HostData
{
    /// <summary>Uniform in [lo, hi) from a xorshift generator: fast enough to fill the largest maps at once.</summary>
    public static float[] Uniform(int length, int seed, float lo = -1f, float hi = 1f)
    {
        var a = new float[length];
        ulong s = 0x9E3779B97F4A7C15UL * (ulong)(seed + 1);
        for (int i = 0; i < a.Length; i++)
        {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            a[i] = lo + (hi - lo) * ((s >> 40) * (1f / (1 << 24)));
        }
        return a;
    }

    public static double[] D(float[] a) => Array.ConvertAll(a, v => (double)v);
}

internal static class Accuracy
{
    /// <summary>
    /// max |actual − expected| / max |expected|, worst over the outputs: an error relative to each
    /// output's scale, so values that happen to be near zero do not blow it up.
    /// </summary>
    public static double MaxRelativeError(float[][] actual, double[][] expected)
    {
        if (actual.Length != expected.Length) throw new InvalidOperationException($"{actual.Length} outputs, {expected.Length} expected.");
        double worst = 0;
        for (int t = 0; t < actual.Length; t++)
        {
            if (actual[t].Length != expected[t].Length) throw new InvalidOperationException($"Output {t} has {actual[t].Length} values, {expected[t].Length} expected.");
            double scale = 0, diff = 0;
            for (int i = 0; i < expected[t].Length; i++)
            {
                scale = Math.Max(scale, Math.Abs(expected[t][i]));
                diff = Math.Max(diff, Math.Abs(actual[t][i] - expected[t][i])); // Math.Max keeps a NaN
            }
            worst = Math.Max(worst, diff / Math.Max(scale, 1e-30));
        }
        return worst;
    }
}
