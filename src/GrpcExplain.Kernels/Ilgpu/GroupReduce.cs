using ILGPU;

namespace GrpcExplain.Kernels.Ilgpu;

/// <summary>Deterministic sums across one group (no atomics: the same inputs always give the same bits).</summary>
internal static class GroupReduce
{
    /// <summary>The largest group the reductions are written for; Group.DimX must be a power of two up to this.</summary>
    public const int MaxGroupSize = 256;

    /// <summary>The sum of every thread's value, returned to every thread of the group.</summary>
    public static float Sum(float value)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroupSize);
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int half = Group.DimX / 2; half > 0; half /= 2)
        {
            if (t < half) shared[t] += shared[t + half];
            Group.Barrier();
        }
        float total = shared[0];
        // A second call (a loop, or another sum) must not overwrite shared[0] before everyone read it.
        Group.Barrier();
        return total;
    }
}
