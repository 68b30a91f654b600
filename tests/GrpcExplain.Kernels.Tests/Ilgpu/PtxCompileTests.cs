using System.Reflection;
using GrpcExplain.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace GrpcExplain.Kernels.Tests.Ilgpu;

/// <summary>
/// Every kernel through ILGPU's PTX backend for the H100 (sm_90), which needs no GPU or driver:
/// the CPU emulator runs .NET code the PTX backend may still reject, and a kernel whose
/// accumulators ILGPU could not keep in registers shows up as local memory in the PTX.
/// </summary>
public sealed class PtxCompileTests
{
    public static TheoryData<string> Kernels => [.. KernelMethods().Keys];

    private static Dictionary<string, MethodInfo> KernelMethods()
    {
        var kernels = typeof(IlgpuBackend).GetMethods(BindingFlags.NonPublic | BindingFlags.Static)
            .Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal))
            .ToDictionary(m => m.Name);
        var gemm = typeof(ConvGemm).GetMethod(nameof(ConvGemm.Kernel))!;
        foreach (var tile in new[] { typeof(Tile64), typeof(Tile16) })
            foreach (var lowering in new[] { typeof(ForwardLowering), typeof(BackwardDataLowering), typeof(BackwardWeightLowering) })
                kernels[$"ConvGemm<{tile.Name}, {lowering.Name}>"] = gemm.MakeGenericMethod(tile, lowering);
        return kernels;
    }

    [Theory, MemberData(nameof(Kernels))]
    public void CompilesForSm90WithoutLocalMemory(string kernel)
    {
        var method = KernelMethods()[kernel];
        using var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, nvvmAPI: null!);
        var entry = method.GetParameters()[0].ParameterType == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var ptx = ((PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty)).PTXAssembly;
        Assert.Contains(".entry", ptx, StringComparison.Ordinal);
        Assert.DoesNotContain(".local", ptx, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryOpFamilyHasKernels() => Assert.True(KernelMethods().Count >= 25, $"found only {KernelMethods().Count} kernels");
}
