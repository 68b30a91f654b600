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
    protected override void Release() => owner.Recycle(Buffer);
}

/// <summary>
/// Hand-written ILGPU kernels over one accelerator: CUDA in production, ILGPU's CPU accelerator
/// (an emulator, hundreds of times slower than plain C#) only to test the kernels at small shapes.
/// Every op only enqueues kernels on the accelerator's default stream; nothing is read back.
/// </summary>
public sealed partial class IlgpuBackend : Backend
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;

    /// <summary>Threads per group of the reduction kernels: a power of two the accelerator allows.</summary>
    private readonly int _reduceGroup;

    /// <summary>Stands in for an absent optional tensor, so kernels always get a valid view.</summary>
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _none;

    private IlgpuBackend(Context context, Accelerator accelerator, string name, IlgpuBackendOptions options)
    {
        _context = context;
        _accelerator = accelerator;
        Name = name;
        GemmVersion = options.Gemm;
        _reduceGroup = 1;
        while (_reduceGroup * 2 <= Math.Min(GroupReduce.MaxGroupSize, accelerator.MaxNumThreadsPerGroup)) _reduceGroup *= 2;
        // The emulator runs each group's threads as OS threads and pays a context switch per
        // barrier, so it gets the small tiles; the same kernel sources run the GPU's tiles
        // (v1 64x64, v2 128x128, both on 256 threads) on a GPU.
        LargeTiles = accelerator.MaxNumThreadsPerGroup >= Tile64.Threads;
        _none = accelerator.Allocate1D<float>(1);
        _none.MemSetToZero();
    }

    public override string Name { get; }
    public override string Device => _accelerator.Name;

    /// <summary>Whether the convolutions run the GPU's tiles on 256 threads (else the emulator's on 16).</summary>
    internal bool LargeTiles { get; }

    /// <summary>The convolutions' GEMM kernel; tests switch it on a live backend (kernels are loaded per version).</summary>
    public GemmVersion GemmVersion { get; internal set; }

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

    /// <summary>The first CUDA device, with <see cref="IlgpuBackendOptions.FromEnvironment"/>'s options.</summary>
    public static IlgpuBackend CreateCuda() => CreateCuda(IlgpuBackendOptions.FromEnvironment());

    public static IlgpuBackend CreateCuda(IlgpuBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        return new IlgpuBackend(context, context.CreateCudaAccelerator(0), "cuda", options);
    }

    /// <summary>ILGPU's CPU emulator with its default device (groups of at most 16 threads), with <see cref="IlgpuBackendOptions.FromEnvironment"/>'s options.</summary>
    public static IlgpuBackend CreateCpu() => CreateCpu(IlgpuBackendOptions.FromEnvironment());

    public static IlgpuBackend CreateCpu(IlgpuBackendOptions options) => CreateCpu(CPUDevice.Default, options);

    /// <summary>
    /// The CPU emulator simulating the given device; a device with 256 threads per group
    /// (e.g. <c>new CPUDevice(32, 8, 1)</c>) runs the convolutions with the GPU's tile sizes.
    /// </summary>
    internal static IlgpuBackend CreateCpu(CPUDevice device, IlgpuBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var context = Context.Create(b => b.CPU(device).EnableAlgorithms());
        return new IlgpuBackend(context, context.CreateCPUAccelerator(0), "ilgpu-cpu", options);
    }

    internal static ArrayView1D<float, Stride1D.Dense> V(Tensor t) => ((IlgpuTensor)t).View;

    /// <summary>The tensor's view, or a dummy one-element view when absent (the kernel's flag says which).</summary>
    private ArrayView1D<float, Stride1D.Dense> VOrNone(Tensor? t) => t is null ? _none.View : V(t);

    private static int Flag(bool b) => b ? 1 : 0;

    public override void Synchronize() => _accelerator.Synchronize();

    /// <summary>One grid of <see cref="_reduceGroup"/>-thread groups, one group per reduced row.</summary>
    private KernelConfig ReduceGrid(int rows) => new(rows, _reduceGroup);

    private bool _disposed;

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            try
            {
                _accelerator.Synchronize();
            }
            finally
            {
                DisposePool();
                DisposeScratch();
                DisposeFilters();
                _none.Dispose();
                // The accelerator owns the loaded kernels and frees them with itself.
                _accelerator.Dispose();
                _context.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
