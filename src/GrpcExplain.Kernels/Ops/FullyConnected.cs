namespace GrpcExplain.Kernels;

/// <summary>
/// Fully connected layer with equalized learning rate (StyleGAN2's FullyConnectedLayer):
/// y = act(x · (W·lr_mul/√in)ᵀ + b·lr_mul), act = leaky ReLU 0.2 with gain √2, or linear.
/// x [N, in], W [out, in], b [out], y [N, out].
/// </summary>
public sealed record FullyConnectedParams(float LrMul = 1f, bool LeakyRelu = false)
{
    public float WeightGain(int inFeatures) => LrMul / MathF.Sqrt(inFeatures);

    /// <summary>Backward reads x, W, y and dy, and writes dx, dW and dBias.</summary>
    public static (KernelCost Forward, KernelCost Backward) Cost(int batch, int inF, int outF)
    {
        long x = (long)batch * inF, w = (long)outF * inF, y = (long)batch * outF;
        return (new(2 * x * outF, 4 * (x + w + outF + y)), new(4 * x * outF, 4 * (2 * x + 2 * w + 2 * y + outF)));
    }

    internal void Validate(Backend b, Tensor x, Tensor weight, Tensor? bias, Tensor y, Tensor? dy = null)
    {
        const string op = "FullyConnected";
        foreach (var (n, t) in new[] { ("x", x), ("weight", weight), ("bias", bias), ("y", y), ("dy", dy) }) Check.Owned(b, op, n, t);
        Check.Rank(op, "x", x, 2, "batch, in_features");
        Check.Rank(op, "weight", weight, 2, "out_features, in_features");
        var (batch, inF, outF) = (x.Shape[0], x.Shape[1], weight.Shape[0]);
        Check.That(weight.Shape[1] == inF, op, "weight", $"weight has {weight.Shape[1]} input features but x has {inF}.");
        Check.Shape(op, "bias", bias, new Shape(outF), "out_features");
        Check.Shape(op, "y", y, new Shape(batch, outF), "batch, out_features");
        Check.Shape(op, "dy", dy, new Shape(batch, outF), "batch, out_features");
    }
}

public static partial class Reference
{
    public static double[] FullyConnectedForward(double[] x, double[] w, double[]? b, int batch, int inF, int outF, FullyConnectedParams p)
    {
        double wg = p.LrMul / Math.Sqrt(inF);
        var y = new double[batch * outF];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outF; o++)
            {
                double z = b is null ? 0 : b[o] * p.LrMul;
                for (int i = 0; i < inF; i++) z += x[n * inF + i] * w[o * inF + i] * wg;
                y[n * outF + o] = p.LeakyRelu ? LeakyRelu(z) * Math.Sqrt(2) : z;
            }
        return y;
    }

    public static (double[] Dx, double[] DWeight, double[] DBias) FullyConnectedBackward(
        double[] x, double[] w, double[] y, double[] dy, int batch, int inF, int outF, FullyConnectedParams p)
    {
        double wg = p.LrMul / Math.Sqrt(inF);
        var dz = new double[batch * outF];
        for (int j = 0; j < dz.Length; j++)
            dz[j] = p.LeakyRelu ? dy[j] * Math.Sqrt(2) * (y[j] > 0 ? 1 : 0.2) : dy[j];
        var dx = new double[batch * inF];
        var dw = new double[outF * inF];
        var db = new double[outF];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outF; o++)
            {
                double g = dz[n * outF + o];
                db[o] += g * p.LrMul;
                for (int i = 0; i < inF; i++)
                {
                    dx[n * inF + i] += g * w[o * inF + i] * wg;
                    dw[o * inF + i] += g * x[n * inF + i] * wg;
                }
            }
        return (dx, dw, db);
    }

    internal static double LeakyRelu(double z) => z > 0 ? z : 0.2 * z;
}
