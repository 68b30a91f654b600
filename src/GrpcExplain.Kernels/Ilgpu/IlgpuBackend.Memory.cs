using ILGPU;
using ILGPU.Runtime;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    // The composed ops allocate temporaries per call (demodulation coefficients, the transposed
    // convolution's output, gradients before modulation), and under CUDA each free is a
    // cuMemFree, which waits for the whole device: the host could never run ahead of the GPU.
    // Freed buffers are therefore kept, by exact length, for the next allocation of that length.
    // Reuse is safe because every op runs in order on one stream: the zero-fill and kernels of
    // the new owner queue behind the old owner's kernels.
    private readonly Dictionary<int, Stack<MemoryBuffer1D<float, Stride1D.Dense>>> _pool = [];
    private readonly Lock _poolLock = new();
    private long _pooledBytes;

    /// <summary>At most an eighth of the device's memory, and 4 GiB, sits in the pool.</summary>
    private long MaxPooledBytes => Math.Min(_accelerator.MemorySize / 8, 4L << 30);

    protected override Tensor AllocateCore(Shape shape)
    {
        var buffer = TakePooled(shape.Length);
        if (buffer is null)
        {
            try
            {
                buffer = _accelerator.Allocate1D<float>(shape.Length);
            }
            catch (Exception e) when (e is AcceleratorException or OutOfMemoryException)
            {
                // Memory held for reuse must never be why an allocation fails.
                DisposePool();
                buffer = _accelerator.Allocate1D<float>(shape.Length);
            }
        }
        buffer.MemSetToZero();
        return new IlgpuTensor(this, shape, buffer);
    }

    protected override void UploadCore(ReadOnlySpan<float> values, Tensor destination) =>
        ((IlgpuTensor)destination).Buffer.View.AsContiguous().CopyFromCPU(values);

    protected override void DownloadCore(Tensor source, Span<float> destination)
    {
        _accelerator.Synchronize();
        ((IlgpuTensor)source).Buffer.View.AsContiguous().CopyToCPU(destination);
    }

    private MemoryBuffer1D<float, Stride1D.Dense>? TakePooled(int length)
    {
        lock (_poolLock)
        {
            if (!_pool.TryGetValue(length, out var stack) || stack.Count == 0) return null;
            _pooledBytes -= (long)length * sizeof(float);
            return stack.Pop();
        }
    }

    /// <summary>A disposed tensor's buffer: kept for reuse while the pool has room, else freed.</summary>
    internal void Recycle(MemoryBuffer1D<float, Stride1D.Dense> buffer)
    {
        lock (_poolLock)
        {
            long bytes = buffer.LengthInBytes;
            if (!_disposed && _pooledBytes + bytes <= MaxPooledBytes)
            {
                if (!_pool.TryGetValue((int)buffer.Length, out var stack)) _pool[(int)buffer.Length] = stack = new();
                stack.Push(buffer);
                _pooledBytes += bytes;
                return;
            }
        }
        buffer.Dispose();
    }

    private void DisposePool()
    {
        lock (_poolLock)
        {
            foreach (var stack in _pool.Values)
                while (stack.Count > 0) stack.Pop().Dispose();
            _pool.Clear();
            _pooledBytes = 0;
        }
    }
}
