using GrpcExplain.Kernels.Tests.Support;
using static GrpcExplain.Kernels.Tests.Support.FiniteDifference;

namespace GrpcExplain.Kernels.Tests.Gradients;

/// <summary>The reference fused-epilogue backward against central finite differences, with data kept off the kinks.</summary>
public sealed class BiasActivateGradientTests
{
    /// <summary>noiseBatch 0: no noise; clamp ≤ 0: no clamp.</summary>
    [Theory]
    [InlineData(2, 3, 3, 3, true, 2, 0.7, 0.2, 1.41421356, -1.0)]
    [InlineData(2, 3, 3, 3, true, 1, -0.5, 0.2, 1.41421356, 0.8)]
    [InlineData(2, 2, 3, 3, true, 2, 0.0, 0.2, 1.41421356, 256.0)]
    [InlineData(2, 2, 3, 3, true, 0, 0.0, 0.0, 1.0, -1.0)]
    [InlineData(2, 2, 3, 3, false, 2, 0.3, 1.0, 1.0, 1.0)]
    [InlineData(3, 2, 2, 2, true, 1, 0.4, 0.0, 2.0, 1.5)]
    public void ReferenceGradientsMatchFiniteDifferences(int n, int c, int h, int w, bool hasBias, int noiseBatch, double strength, double slope, double gain, double clamp)
    {
        var p = new BiasActivateParams((float)slope, (float)gain, (float)clamp);
        var shape = new Shape(n, c, h, w);
        var rng = TestData.Rng($"biasact fd {shape} {hasBias} {noiseBatch} {strength} {slope} {gain} {clamp}");
        var x = TestData.NormalDouble(rng, shape.Length);
        var bias = TestData.NormalDouble(rng, c, hasBias ? 1 : 0);
        var noise = noiseBatch == 0 ? null : TestData.NormalDouble(rng, noiseBatch * h * w);
        var r = TestData.NormalDouble(rng, shape.Length);
        var strengthBox = new[] { strength };
        var kinks = Kinks(p);
        MoveOffKinks(x, shape, bias, noise, noiseBatch, strength, kinks);
        AssertAwayFromKinks("z", PreActivations(x, shape, bias, noise, noiseBatch, strength), kinks);

        double Loss() => Dot(Reference.BiasActivateForward(x, shape, hasBias ? bias : null, noise, noiseBatch, strengthBox[0], p), r);
        double LossWithBias() => Dot(Reference.BiasActivateForward(x, shape, bias, noise, noiseBatch, strengthBox[0], p), r);
        var (dx, db, dn, ds) = Reference.BiasActivateBackward(x, shape, hasBias ? bias : null, noise, noiseBatch, strength, r, p);

        Check("dx", dx, x, Loss, shape);
        Check("dBias", db, bias, LossWithBias, new Shape(c));
        if (noise is null) return;
        Check("dNoise", dn!, noise, Loss, new Shape(noiseBatch, 1, h, w));
        Check("dNoiseStrength", [ds], strengthBox, Loss);
    }

    /// <summary>Pre-activations where the derivative jumps: 0 (unless linear) and the two clamp edges.</summary>
    private static double[] Kinks(BiasActivateParams p)
    {
        var k = new List<double>();
        if (p.Slope != 1) k.Add(0);
        if (p.Clamp > 0)
        {
            k.Add(p.Clamp / (double)p.Gain);
            if (p.Slope > 0) k.Add(-p.Clamp / ((double)p.Gain * p.Slope));
        }
        return [.. k];
    }

    private static double[] PreActivations(double[] x, Shape shape, double[] bias, double[]? noise, int noiseBatch, double strength)
    {
        var (n, c, h, w) = shape.Nchw;
        var z = new double[x.Length];
        for (int j = 0; j < x.Length; j++)
        {
            int b = j / (c * h * w), ch = j / (h * w) % c, q = j % (h * w);
            z[j] = x[j] + bias[ch] + (noise is null ? 0 : noise[(noiseBatch == 1 ? 0 : b) * h * w + q] * strength);
        }
        return z;
    }

    /// <summary>Shifts x where its pre-activation sits near a kink (x enters only its own element).</summary>
    private static void MoveOffKinks(double[] x, Shape shape, double[] bias, double[]? noise, int noiseBatch, double strength, double[] kinks)
    {
        for (int pass = 0; pass < 10; pass++)
        {
            var z = PreActivations(x, shape, bias, noise, noiseBatch, strength);
            bool moved = false;
            for (int j = 0; j < x.Length; j++)
                if (kinks.Any(k => Math.Abs(z[j] - k) <= 10 * KinkMargin))
                {
                    x[j] += 0.05;
                    moved = true;
                }
            if (!moved) return;
        }
    }
}
