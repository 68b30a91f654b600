using System.Runtime.Intrinsics.X86;
using GrpcExplain.Kernels;
using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Kernels.Ilgpu;

namespace GrpcExplain.StyleGan.Tests.Fidelity;

/// <summary>
/// The backends the fixture comparisons run on, named and chosen as the kernel suite chooses them:
/// both CPU code paths and ILGPU's CPU accelerator by default, CUDA too with GRPCEXPLAIN_TEST_CUDA=1,
/// and GRPCEXPLAIN_TEST_BACKENDS=name,name to restrict the set. A backend that is asked for but
/// cannot be created fails its rows with the reason; none is skipped silently.
/// </summary>
internal static class FidelityBackends
{
    public const string IlgpuCpu = "ilgpu-cpu";

    public static IReadOnlyList<string> Selected { get; } = Select();

    private static List<string> Select()
    {
        var list = Environment.GetEnvironmentVariable("GRPCEXPLAIN_TEST_BACKENDS");
        if (!string.IsNullOrWhiteSpace(list))
            return [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct()];
        List<string> all = ["cpu-avx512", "cpu-vector256", IlgpuCpu];
        if (Environment.GetEnvironmentVariable("GRPCEXPLAIN_TEST_CUDA") == "1") all.Add("cuda");
        return all;
    }

    /// <summary>
    /// ILGPU's CPU emulator is slow (measured on an idle 2-core machine: a synthesis takes about
    /// 0.25 s at 16x16, 1.5 s at 32x32 and 4 s at 64x64, a recorded pass with its backward twice
    /// that, plus seconds of kernel compilation per backend; on a loaded machine several times
    /// longer), so it runs every case of the smallest fixture and, of the others, the cases that
    /// reach what that one does not: 32 channels with and without noise, truncation with a cutoff,
    /// W+ and every noise gradient at 32x32; the class embedding at 64x64 RGB without clamp
    /// (forward only: its backward alone would cost as much as all the rest); one case of each
    /// converted model. The CPU backends (and CUDA, when asked for) run every case.
    /// </summary>
    public static bool Runs(string backend, string fixture, string @case) =>
        backend != IlgpuCpu || fixture == "clamp16" || EmulatorCases.Contains((fixture, @case));

    private static readonly HashSet<(string, string)> EmulatorCases =
    [
        ("grey32", "z_psi05_cutoff4_const"), ("grey32", "z_psi1_none"), ("grey32", "wplus_const"), ("grey32", "grad_wplus_const"),
        ("rgb64_cond", "z_psi05_cutoff4_const"),
        ("converted_nvidia_rgb32_cond", "z_psi07_cutoff2_const"), ("converted_rosinality_rgb32", "wplus_const"),
    ];

    public static Backend Create(string name) => name switch
    {
        "cpu-avx512" when !Avx512F.IsSupported => throw new PlatformNotSupportedException(
            "Backend 'cpu-avx512' is under test but this processor has no AVX-512F; restrict the suite with GRPCEXPLAIN_TEST_BACKENDS=cpu-vector256,ilgpu-cpu."),
        "cpu-avx512" => new CpuBackend(new CpuBackendOptions { Isa = CpuIsa.Avx512 }),
        "cpu-vector256" => new CpuBackend(new CpuBackendOptions { Isa = CpuIsa.Vector256 }),
        IlgpuCpu => IlgpuBackend.CreateCpu(),
        "cuda" => Backends.Create(BackendKind.Cuda),
        _ => throw new ArgumentException($"GRPCEXPLAIN_TEST_BACKENDS names unknown backend '{name}'. Known: cpu-avx512, cpu-vector256, ilgpu-cpu, cuda.", nameof(name)),
    };
}
