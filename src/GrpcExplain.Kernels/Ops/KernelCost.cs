namespace GrpcExplain.Kernels;

/// <summary>
/// What one call of an op costs, so benchmarks can print GFLOP/s and GB/s. FLOPs count 2 per
/// multiply-add of the op's arithmetic (element-wise ops: their nominal operations per element);
/// bytes are the compulsory float32 traffic, every input read once and every output written once.
/// Backward computes the gradient of every input, style and parameter.
/// </summary>
public readonly record struct KernelCost(long Flops, long Bytes);
