using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;

namespace GrpcExplain.Classifiers.Tests.Reference;

using KernelReference = GrpcExplain.Kernels.Reference;

/// <summary>
/// The reference CNN written again in double from the kernels' plain reference ops, with none of the
/// network's own code: the independent forward that finite differences and Grad-CAM are checked on.
/// </summary>
internal sealed class PlainCnn(ReferenceCnnConfig config, Dictionary<string, double[]> parameters)
{
    public ReferenceCnnConfig Config { get; } = config;

    public Dictionary<string, double[]> Parameters { get; } = parameters;

    public static PlainCnn Of(ReferenceCnnWeights weights) =>
        new(weights.Config, weights.Tensors.ToDictionary(p => p.Key, p => p.Value.Data.Select(v => (double)v).ToArray()));

    /// <summary>Logits [N, classes] and the last convolution's activations [N, C, f, f].</summary>
    public (double[] Logits, double[] Features) Forward(double[] images, int n)
    {
        var x = images;
        int res = Config.ImgResolution;
        double[] a = [];
        for (int i = 0; i < Config.ConvCount; i++)
        {
            int cin = Config.InChannels(i), cout = Config.Channels[i];
            var xShape = new Shape(n, cin, res, res);
            var conv = new Conv2dParams(1, 1, (float)Math.Sqrt(2.0 / (cin * 9)));
            a = KernelReference.Conv2dForward(x, xShape, Parameters[$"conv{i}.weight"], new Shape(cout, cin, 3, 3), conv);
            a = KernelReference.BiasActivateForward(a, new Shape(n, cout, res, res), Parameters[$"conv{i}.bias"], null, 0, 0, BiasActivateParams.Relu);
            if (i == Config.ConvCount - 1) break;
            x = AveragePool2x(a, n * cout, res);
            res /= 2;
        }
        int c = Config.FeatureChannels, plane = res * res;
        var features = new double[n * c];
        for (int j = 0; j < features.Length; j++) features[j] = a.AsSpan(j * plane, plane).ToArray().Average();
        var logits = KernelReference.FullyConnectedForward(features, Parameters["fc.weight"], Parameters["fc.bias"], n, c, Config.ClassCount, new FullyConnectedParams());
        return (logits, a);
    }

    /// <summary>Mean of each 2x2 block, written out.</summary>
    private static double[] AveragePool2x(double[] a, int planes, int res)
    {
        int h = res / 2;
        var y = new double[planes * h * h];
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < h; oy++)
                for (int ox = 0; ox < h; ox++)
                {
                    int at = p * res * res + 2 * oy * res + 2 * ox;
                    y[(p * h + oy) * h + ox] = (a[at] + a[at + 1] + a[at + res] + a[at + res + 1]) / 4;
                }
        return y;
    }

    /// <summary>Σ dLogits·logits, the scalar whose gradient a backward pass from dLogits computes.</summary>
    public double Objective(double[] images, int n, double[] dLogits)
    {
        var logits = Forward(images, n).Logits;
        double s = 0;
        for (int i = 0; i < logits.Length; i++) s += logits[i] * dLogits[i];
        return s;
    }
}

internal static class TinyCnn
{
    /// <summary>8x8 RGB, convolutions 3 → 4 → 5 with pooling after the first two (a 2x2 last map), 3 classes.</summary>
    public static ReferenceCnnConfig Rgb { get; } = new(8, 3, [3, 4, 5], ["a", "b", "c"]);

    /// <summary>8x8 grey, one convolution without pooling, 2 classes.</summary>
    public static ReferenceCnnConfig GreySingle { get; } = new(8, 1, [4], ["no", "yes"]);

    /// <summary>Weights with random biases too (zero biases would leave ReLUs' kinks at the same places).</summary>
    public static ReferenceCnnWeights Weights(ReferenceCnnConfig config, int seed)
    {
        var w = ReferenceCnnWeights.Initialize(config, seed);
        var rng = new Random(seed + 1000);
        return ReferenceCnnWeights.FromTensors(config, w.Tensors.ToDictionary(p => p.Key, p => p.Key.EndsWith(".bias", StringComparison.Ordinal)
            ? new HostTensor(p.Value.Shape, [.. p.Value.Data.Select(_ => (float)(rng.NextDouble() * 0.4 - 0.2))])
            : p.Value));
    }

    public static float[] Images(ReferenceCnnConfig config, int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n * config.ImgChannels * config.ImgResolution * config.ImgResolution).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
    }

    public static double[] ToDouble(float[] v) => [.. v.Select(x => (double)x)];
}
