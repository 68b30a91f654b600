namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    // Disposed tensors' arrays, by exact length, for the next tensor of that length: a generator
    // forward allocates and frees the same few dozen activation sizes every call, and fresh pinned
    // arrays of a megabyte each would cost a clear anyway plus full garbage collections.
    private readonly Dictionary<int, Stack<float[]>> _pool = [];
    private long _pooledFloats;
    private const long MaxPooledFloats = 256L << 20; // 1 GiB

    /// <summary>A zero-filled, pinned array of this length.</summary>
    internal float[] Rent(int length)
    {
        var a = RentUninitialized(length, out bool fresh);
        if (!fresh) Array.Clear(a);
        return a;
    }

    /// <summary>A pinned array of this length with whatever it held: for buffers every element of which is written.</summary>
    internal float[] RentUninitialized(int length) => RentUninitialized(length, out _);

    private float[] RentUninitialized(int length, out bool fresh)
    {
        lock (_pool)
        {
            if (_pool.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                _pooledFloats -= length;
                fresh = false;
                return stack.Pop();
            }
        }
        fresh = true;
        return GC.AllocateArray<float>(length, pinned: true);
    }

    internal void Return(float[] array)
    {
        lock (_pool)
        {
            if (_pooledFloats + array.Length > MaxPooledFloats) return;
            if (!_pool.TryGetValue(array.Length, out var stack)) _pool[array.Length] = stack = new Stack<float[]>();
            stack.Push(array);
            _pooledFloats += array.Length;
        }
    }
}
