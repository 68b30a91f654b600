using ILGPU;
using ILGPU.Runtime;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    // Temporaries inside an op come from a few grow-only device buffers instead of a fresh
    // allocation per call: every kernel runs in order on one stream, so the next op cannot touch
    // a slot before the previous op's kernels are done with it, and no allocation or free (each
    // an implicit device synchronisation under CUDA) happens once the buffers have grown.
    private readonly MemoryBuffer1D<float, Stride1D.Dense>?[] _scratch = new MemoryBuffer1D<float, Stride1D.Dense>?[Enum.GetValues<ScratchSlot>().Length];

    /// <summary>Scratch slots; an op uses each at most once at a time, reductions only Partials.</summary>
    private enum ScratchSlot { First, Second, Partials }

    /// <summary>A device view of at least <paramref name="length"/> floats, contents undefined.</summary>
    private ArrayView1D<float, Stride1D.Dense> Scratch(ScratchSlot slot, long length)
    {
        int i = (int)slot;
        var buffer = _scratch[i];
        if (buffer is null || buffer.Length < length)
        {
            if (buffer is not null)
            {
                // Queued kernels may still read the old buffer; growing is rare, so simply wait.
                _accelerator.Synchronize();
                buffer.Dispose();
            }
            buffer = _accelerator.Allocate1D<float>(Math.Max(length, 1024));
            _scratch[i] = buffer;
        }
        return buffer.View.SubView(0, length);
    }

    private void DisposeScratch()
    {
        for (int i = 0; i < _scratch.Length; i++)
        {
            _scratch[i]?.Dispose();
            _scratch[i] = null;
        }
    }
}
