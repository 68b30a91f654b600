namespace GrpcExplain.Kernels;

/// <summary>
/// Sum over batch and space: x [N, C, H, W] → y [C] (bias gradients). Its backward broadcasts
/// dy [C] back to [N, C, H, W].
/// </summary>
public static class SumOverBatchAndSpace
{
    /// <summary>Backward only copies.</summary>
    public static (KernelCost Forward, KernelCost Backward) Cost(Shape x)
    {
        long bytes = 4 * ((long)x.Length + x[1]);
        return (new(x.Length, bytes), new(0, bytes));
    }

    internal static void Validate(Backend b, Tensor x, Tensor y, string xName = "x", string yName = "y")
    {
        const string op = "SumOverBatchAndSpace";
        Check.Owned(b, op, xName, x);
        Check.Owned(b, op, yName, y);
        Check.Rank(op, xName, x, 4, "N, C, H, W");
        Check.Shape(op, yName, y, new Shape(x.Shape[1]), "channels");
    }
}

public static partial class Reference
{
    public static double[] SumOverBatchAndSpaceForward(double[] x, Shape shape)
    {
        var (n, c, h, w) = shape.Nchw;
        var y = new double[c];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < h * w; q++) y[ch] += x[(b * c + ch) * h * w + q];
        return y;
    }

    public static double[] SumOverBatchAndSpaceBackward(double[] dy, Shape shape)
    {
        var (n, c, h, w) = shape.Nchw;
        var dx = new double[shape.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < h * w; q++) dx[(b * c + ch) * h * w + q] = dy[ch];
        return dx;
    }
}
