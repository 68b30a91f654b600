using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace GrpcExplain.Kernels.Ilgpu;

/// <summary>Device memory for one tensor.</summary>
internal sealed class IlgpuTensor(IlgpuBackend owner, Shape shape, MemoryBuffer1D<float, Stride1D.Dense> buffer) : Tensor(owner, shape)
{
    public MemoryBuffer1D<float, Stride1D.Dense> Buffer { get; } = buffer;
    public ArrayView1D<float, Stride1D.Dense> View => Buffer.View;
    protected override void Release() => Buffer.Dispose();
}

/// <summary>
/// Hand-written ILGPU kernels over one accelerator: CUDA in production, ILGPU's CPU accelerator
/// (an emulator, hundreds of times slower than plain C#) only to test the kernels at small shapes.
/// </summary>
public sealed partial class IlgpuBackend : Backend
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;

    private IlgpuBackend(Context context, Accelerator accelerator, string name)
    {
        _context = context;
        _accelerator = accelerator;
        Name = name;
    }

    public override string Name { get; }
    public override string Device => _accelerator.Name;

    public static bool IsCudaAvailable()
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            return context.GetCudaDevices().Count > 0;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException or NotSupportedException or CudaException)
        {
            return false;
        }
    }

    public static IlgpuBackend CreateCuda()
    {
        var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        return new IlgpuBackend(context, context.CreateCudaAccelerator(0), "cuda");
    }

    public static IlgpuBackend CreateCpu()
    {
        var context = Context.Create(b => b.CPU().EnableAlgorithms());
        return new IlgpuBackend(context, context.CreateCPUAccelerator(0), "ilgpu-cpu");
    }

    internal static ArrayView1D<float, Stride1D.Dense> V(Tensor t) => ((IlgpuTensor)t).View;

    protected override Tensor AllocateCore(Shape shape)
    {
        var buffer = _accelerator.Allocate1D<float>(shape.Length);
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

    public override void Synchronize() => _accelerator.Synchronize();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _accelerator.Dispose();
            _context.Dispose();
        }
        base.Dispose(disposing);
    }
}
