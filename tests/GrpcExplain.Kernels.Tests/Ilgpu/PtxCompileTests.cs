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

    private static readonly Type[] Lowerings = [typeof(ForwardLowering), typeof(BackwardDataLowering), typeof(BackwardWeightLowering)];

    private static Dictionary<string, MethodInfo> KernelMethods()
    {
        var kernels = typeof(IlgpuBackend).GetMethods(BindingFlags.NonPublic | BindingFlags.Static)
            .Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal))
            .ToDictionary(m => m.Name);
        var gemm = typeof(ConvGemm).GetMethod(nameof(ConvGemm.Kernel))!;
        foreach (var tile in new[] { typeof(Tile64), typeof(Tile16) })
            foreach (var lowering in Lowerings)
                kernels[$"ConvGemm<{tile.Name}, {lowering.Name}>"] = gemm.MakeGenericMethod(tile, lowering);
        foreach (var (name, method) in GemmV2Methods()) kernels[name] = method;
        return kernels;
    }

    private static IEnumerable<(string Name, MethodInfo Method)> GemmV2Methods()
    {
        var gemm = typeof(ConvGemmV2).GetMethod(nameof(ConvGemmV2.Kernel))!;
        foreach (var tile in new[] { typeof(Tile128), typeof(Tile32) })
            foreach (var lowering in Lowerings)
                yield return ($"ConvGemmV2<{tile.Name}, {lowering.Name}>", gemm.MakeGenericMethod(tile, lowering));
    }

    /// <summary>The GPU tile of GEMM v2 is loaded with launch bounds; everything else without.</summary>
    private static KernelSpecialization Specialization(MethodInfo method) =>
        method.IsGenericMethod && method.GetGenericArguments()[0] == typeof(Tile128) ? IlgpuBackend.GemmV2Specialization : KernelSpecialization.Empty;

    private static string Ptx(MethodInfo method)
    {
        using var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, nvvmAPI: null!);
        var entry = method.GetParameters()[0].ParameterType == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        return ((PTXCompiledKernel)backend.Compile(entry, Specialization(method))).PTXAssembly;
    }

    [Theory, MemberData(nameof(Kernels))]
    public void CompilesForSm90WithoutLocalMemory(string kernel)
    {
        var ptx = Ptx(KernelMethods()[kernel]);
        Assert.Contains(".entry", ptx, StringComparison.Ordinal);
        Assert.DoesNotContain(".local", ptx, StringComparison.Ordinal);
    }

    public static TheoryData<string> GemmV2Kernels => [.. GemmV2Methods().Select(k => k.Name)];

    /// <summary>
    /// What v2 is for, in the PTX: its products read shared memory as 128-bit loads (four per k), and the
    /// GPU tile carries launch bounds that hold ptxas to 128 registers, two 256-thread groups per SM.
    /// </summary>
    [Theory, MemberData(nameof(GemmV2Kernels))]
    public void GemmV2ReadsFloat4sUnderLaunchBounds(string kernel)
    {
        var method = KernelMethods()[kernel];
        var ptx = Ptx(method);
        int bk = method.GetGenericArguments()[0] == typeof(Tile128) ? Tile128.K : Tile32.K;
        Assert.Equal(4 * bk, CountOf(ptx, "ld.shared.v4.f32"));
        Assert.DoesNotContain("ld.shared.f32", ptx, StringComparison.Ordinal);
        if (method.GetGenericArguments()[0] == typeof(Tile128))
        {
            Assert.Contains($".maxntid {Tile128.Threads}, 1, 1", ptx, StringComparison.Ordinal);
            Assert.Contains(".minnctapersm 2", ptx, StringComparison.Ordinal);
        }
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    [Fact]
    public void EveryOpFamilyHasKernels() => Assert.True(KernelMethods().Count >= 25, $"found only {KernelMethods().Count} kernels");
}
