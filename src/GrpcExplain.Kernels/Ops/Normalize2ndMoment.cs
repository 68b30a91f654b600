namespace GrpcExplain.Kernels;

/// <summary>normalize_2nd_moment: y = x · rsqrt(mean(x²) + 1e-8) over the features of each sample; x, y [N, F].</summary>
public static class Normalize2ndMoment
{
    public const float Epsilon = 1e-8f;

    public static (KernelCost Forward, KernelCost Backward) Cost(int batch, int features)
    {
        long x = (long)batch * features;
        return (new(3 * x, 8 * x), new(5 * x, 12 * x));
    }

    internal static void Validate(Backend b, Tensor x, Tensor y, Tensor? dy = null, string yName = "y")
    {
        const string op = "Normalize2ndMoment";
        foreach (var (n, t) in new[] { ("x", x), (yName, y), ("dy", dy) }) Check.Owned(b, op, n, t);
        Check.Rank(op, "x", x, 2, "batch, features");
        Check.Shape(op, yName, y, x.Shape, "same as x");
        Check.Shape(op, "dy", dy, x.Shape, "same as x");
    }
}

public static partial class Reference
{
    public static double[] Normalize2ndMomentForward(double[] x, int batch, int features)
    {
        var y = new double[x.Length];
        for (int n = 0; n < batch; n++)
        {
            double r = Rsqrt2ndMoment(x, n, features);
            for (int f = 0; f < features; f++) y[n * features + f] = x[n * features + f] * r;
        }
        return y;
    }

    /// <summary>dx_j = r·dy_j − r³/F · x_j · Σ_k dy_k x_k.</summary>
    public static double[] Normalize2ndMomentBackward(double[] x, double[] dy, int batch, int features)
    {
        var dx = new double[x.Length];
        for (int n = 0; n < batch; n++)
        {
            double r = Rsqrt2ndMoment(x, n, features), dot = 0;
            for (int f = 0; f < features; f++) dot += dy[n * features + f] * x[n * features + f];
            for (int f = 0; f < features; f++)
                dx[n * features + f] = r * dy[n * features + f] - r * r * r / features * x[n * features + f] * dot;
        }
        return dx;
    }

    private static double Rsqrt2ndMoment(double[] x, int n, int features)
    {
        double m = 0;
        for (int f = 0; f < features; f++) m += x[n * features + f] * x[n * features + f];
        return 1 / Math.Sqrt(m / features + Normalize2ndMoment.Epsilon);
    }
}
