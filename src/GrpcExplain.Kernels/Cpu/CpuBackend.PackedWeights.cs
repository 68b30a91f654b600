using System.Runtime.CompilerServices;

namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    // Data derived from a weight (the weight packed for the GEMM in each use, its squared norms for
    // demodulation), kept per tensor until it is written again (its Version moves) or collected.
    // Inference and projection reuse the same weights for every call; small maps would otherwise
    // spend most of their time re-packing a 512x4608 weight for a 16-pixel product.
    private readonly ConditionalWeakTable<Tensor, Dictionary<string, (long Version, object Value)>> _derived = [];

    private T Derived<T>(Tensor source, string use, Func<T> make) where T : class
    {
        var uses = _derived.GetOrCreateValue(source);
        lock (uses)
        {
            if (uses.TryGetValue(use, out var entry) && entry.Version == source.Version) return (T)entry.Value;
        }
        var value = make();
        lock (uses) uses[use] = (source.Version, value);
        return value;
    }

    private float[] PackedWeight<TA>(Tensor weight, string use, int m, int k, TA pack) where TA : unmanaged, IPackA =>
        Derived(weight, use, () => Gemm.PackA(this, m, k, pack));
}
