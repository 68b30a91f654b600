namespace GrpcExplain.Kernels.Tests.Support;

public static class BackendExtensions
{
    public static Tensor Upload(this Backend b, float[] values, params int[] dims) => b.Upload(values, new Shape(dims));

    public static Tensor? UploadOrNull(this Backend b, float[]? values, Shape shape) => values is null ? null : b.Upload(values, shape);

    /// <summary>
    /// An output tensor filled with NaN, so an element a kernel forgets to write, or a gradient it
    /// accumulates into instead of overwriting, shows up as a failure.
    /// </summary>
    public static Tensor Sentinel(this Backend b, Shape shape) => b.Upload(TestData.Filled(shape.Length, float.NaN), shape);

    public static Tensor Sentinel(this Backend b, params int[] dims) => b.Sentinel(new Shape(dims));

    public static Tensor? SentinelIf(this Backend b, bool wanted, Shape shape) => wanted ? b.Sentinel(shape) : null;
}
