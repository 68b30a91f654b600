namespace GrpcExplain.Kernels;

/// <summary>
/// Element-wise sum y = a + b of two tensors of one shape (the skip architecture adds each block's
/// ToRGB output to the upsampled image). y may be a or b. Its backward passes dy to both unchanged.
/// </summary>
public static class Add
{
    internal static void Validate(Backend backend, Tensor a, Tensor b, Tensor y)
    {
        const string op = "Add";
        foreach (var (n, t) in new[] { ("a", a), ("b", b), ("y", y) }) Check.Owned(backend, op, n, t);
        Check.Shape(op, "b", b, a.Shape, "same as a");
        Check.Shape(op, "y", y, a.Shape, "same as a");
    }

    public static KernelCost Cost(Shape a) => new(a.Length, 12L * a.Length);
}

public static partial class Reference
{
    public static double[] AddForward(double[] a, double[] b) => [.. a.Zip(b, (x, y) => x + y)];
}
