using System.Runtime.Intrinsics.X86;
using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Kernels.Ilgpu;

namespace GrpcExplain.Kernels.Tests.Support;

/// <summary>
/// Which backends the suite runs every op on. By default both CPU code paths and ILGPU's CPU
/// accelerator; CUDA too when GRPCEXPLAIN_TEST_CUDA=1 (then a CUDA device must exist).
/// GRPCEXPLAIN_TEST_BACKENDS=name,name restricts the set (naming cuda there asks for it too), e.g.
/// GRPCEXPLAIN_TEST_BACKENDS=cuda GRPCEXPLAIN_TEST_CUDA=1 on a GPU machine.
/// A backend that is asked for but cannot be created fails its cases; none is skipped silently.
/// </summary>
public static class TestBackends
{
    public const string CpuAvx512 = "cpu-avx512";
    public const string CpuVector256 = "cpu-vector256";
    public const string IlgpuCpu = "ilgpu-cpu";
    public const string Cuda = "cuda";

    public static IReadOnlyList<string> Known { get; } = [CpuAvx512, CpuVector256, IlgpuCpu, Cuda];

    public static bool CudaRequested => Environment.GetEnvironmentVariable("GRPCEXPLAIN_TEST_CUDA") == "1";

    /// <summary>The backends under test, in a stable order. Unknown names stay in, so their cases fail and say why.</summary>
    public static IReadOnlyList<string> Selected { get; } = Select();

    private static List<string> Select()
    {
        var list = Environment.GetEnvironmentVariable("GRPCEXPLAIN_TEST_BACKENDS");
        if (string.IsNullOrWhiteSpace(list))
            return CudaRequested ? [.. Known] : [CpuAvx512, CpuVector256, IlgpuCpu];
        return [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct()];
    }

    /// <summary>ILGPU's CPU accelerator emulates GPU threads and is hundreds of times slower: it gets the small cases only.</summary>
    public static bool IsSlow(string name) => name == IlgpuCpu;

    /// <summary>Creates the backend or throws an exception saying why it cannot.</summary>
    public static Backend Create(string name) => name switch
    {
        CpuAvx512 => Avx512F.IsSupported
            ? new CpuBackend(new CpuBackendOptions { Isa = CpuIsa.Avx512 })
            : throw new PlatformNotSupportedException(
                $"Backend '{CpuAvx512}' is under test but this processor has no AVX-512F, so the AVX-512 code path cannot run here. " +
                $"Restrict the suite with GRPCEXPLAIN_TEST_BACKENDS={CpuVector256},{IlgpuCpu} to test the other backends."),
        CpuVector256 => new CpuBackend(new CpuBackendOptions { Isa = CpuIsa.Vector256 }),
        IlgpuCpu => IlgpuBackend.CreateCpu(),
        Cuda => IlgpuBackend.IsCudaAvailable()
            ? IlgpuBackend.CreateCuda()
            : throw new InvalidOperationException("Backend 'cuda' is under test (GRPCEXPLAIN_TEST_CUDA=1 or GRPCEXPLAIN_TEST_BACKENDS) but no CUDA device was found."),
        _ => throw new ArgumentException(
            $"GRPCEXPLAIN_TEST_BACKENDS names unknown backend '{name}'. Known: {string.Join(", ", Known)}.", nameof(name)),
    };

    /// <summary>Theory rows (backend, case) for every selected backend and every case it can run in reasonable time.</summary>
    public static TheoryData<string, string> Matrix<TCase>(IEnumerable<TCase> cases) where TCase : IOpCase
    {
        var rows = new TheoryData<string, string>();
        foreach (var backend in Selected)
            foreach (var c in cases)
                if (!(c.Large && IsSlow(backend)))
                    rows.Add(backend, c.Name);
        return rows;
    }
}

/// <summary>One shape/parameter combination of an op, named so it reads well in the test list.</summary>
public interface IOpCase
{
    string Name { get; }

    /// <summary>Too big for the emulated ILGPU CPU accelerator.</summary>
    bool Large { get; }
}

public static class OpCases
{
    public static T Find<T>(IEnumerable<T> cases, string name) where T : IOpCase =>
        cases.SingleOrDefault(c => c.Name == name) ?? throw new ArgumentException($"No case named '{name}'.", nameof(name));
}
