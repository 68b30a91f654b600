using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<Index1D, Floats, Floats, Floats>? _add;

    protected override void AddForwardCore(Tensor a, Tensor b, Tensor y)
    {
        _add ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Floats, Floats>(AddKernel);
        _add(a.Length, V(a), V(b), V(y));
    }

    private static void AddKernel(Index1D i, Floats a, Floats b, Floats y) => y[i] = a[i] + b[i];
}
