namespace GrpcExplain.Training.Gan;

/// <summary>A loss over a batch of logits (its mean) and its gradient with respect to each logit.</summary>
public readonly record struct LogitLoss(double Loss, float[] Gradient);

/// <summary>
/// The non-saturating logistic loss of stylegan2-ada-pytorch's StyleGAN2Loss, each term averaged over
/// the batch: G minimises softplus(−D(G(z))); D minimises softplus(D(G(z))) + softplus(−D(x)).
/// d softplus(s·l)/dl = s·σ(s·l).
/// </summary>
public static class GanLoss
{
    /// <summary>log(1 + eˣ) without overflow: max(x, 0) + log1p(e^−|x|).</summary>
    public static double Softplus(double x) => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary>G's loss on the fakes' logits: mean softplus(−l).</summary>
    public static LogitLoss Generator(float[] fakeLogits) => Mean(fakeLogits, sign: -1);

    /// <summary>D's loss on the fakes' logits: mean softplus(l).</summary>
    public static LogitLoss DiscriminatorFake(float[] fakeLogits) => Mean(fakeLogits, sign: +1);

    /// <summary>D's loss on the reals' logits: mean softplus(−l).</summary>
    public static LogitLoss DiscriminatorReal(float[] realLogits) => Mean(realLogits, sign: -1);

    private static LogitLoss Mean(float[] logits, int sign)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Length == 0) throw new ArgumentException("No logits.", nameof(logits));
        int n = logits.Length;
        double loss = 0;
        var gradient = new float[n];
        for (int i = 0; i < n; i++)
        {
            double x = sign * (double)logits[i];
            loss += Softplus(x);
            gradient[i] = (float)(sign * Sigmoid(x) / n);
        }
        return new LogitLoss(loss / n, gradient);
    }
}
