using System.Runtime.Intrinsics.X86;
using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Kernels.Ilgpu;
using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

/// <summary>Choosing a backend by name, and what the suite itself runs on.</summary>
public sealed class BackendFactoryTests
{
    [Theory]
    [InlineData("auto", BackendKind.Auto)]
    [InlineData("cpu", BackendKind.Cpu)]
    [InlineData(" CPU ", BackendKind.Cpu)]
    [InlineData("cuda", BackendKind.Cuda)]
    [InlineData("ILGPU-CPU", BackendKind.IlgpuCpu)]
    public void ParseAcceptsTheNamesInAnyCase(string name, BackendKind kind) => Assert.Equal(kind, Backends.Parse(name));

    [Theory]
    [InlineData("gpu")]
    [InlineData("")]
    [InlineData("cpu-avx512")]
    [InlineData(null)]
    public void ParseRejectsUnknownNamesListingTheValidOnes(string? name)
    {
        var ex = Assert.Throws<ArgumentException>(() => Backends.Parse(name!));
        Assert.Contains($"'{name}'", ex.Message, StringComparison.Ordinal);
        foreach (var valid in Backends.Names) Assert.Contains(valid, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CpuIsTheSimdBackendWithTheWidestIsa()
    {
        using var b = Backends.Create("cpu");
        var cpu = Assert.IsType<CpuBackend>(b);
        Assert.Equal("cpu", cpu.Name);
        Assert.Equal(Avx512F.IsSupported ? CpuIsa.Avx512 : CpuIsa.Vector256, cpu.Isa);
        Assert.Equal(Environment.ProcessorCount, cpu.Threads);
    }

    [Fact]
    public void IlgpuCpuIsTheIlgpuEmulator()
    {
        using var b = Backends.Create(BackendKind.IlgpuCpu);
        Assert.IsType<IlgpuBackend>(b);
        Assert.Equal("ilgpu-cpu", b.Name);
    }

    [Fact]
    public void AutoIsCudaWhenPresentElseCpu()
    {
        using var b = Backends.Create("auto");
        Assert.Equal(IlgpuBackend.IsCudaAvailable() ? "cuda" : "cpu", b.Name);
    }

    [Fact]
    public void CudaWithoutADeviceFailsClearly()
    {
        if (IlgpuBackend.IsCudaAvailable())
        {
            using var cuda = Backends.Create("cuda");
            Assert.Equal("cuda", cuda.Name);
            return;
        }
        var ex = Assert.Throws<InvalidOperationException>(() => Backends.Create("cuda"));
        Assert.Contains("CUDA", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cpu", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CpuOptionsAreChecked()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CpuBackend(new CpuBackendOptions { Threads = 0 }));
        Assert.Contains("Threads", ex.Message, StringComparison.Ordinal);
        if (Avx512F.IsSupported)
        {
            using var b = new CpuBackend(new CpuBackendOptions { Isa = CpuIsa.Avx512, Threads = 1 });
            Assert.Equal(CpuIsa.Avx512, b.Isa);
        }
        else
        {
            Assert.Throws<PlatformNotSupportedException>(() => new CpuBackend(new CpuBackendOptions { Isa = CpuIsa.Avx512 }));
        }
    }

    [Fact]
    public void ShapesRejectEmptyAndNonPositiveDimensions()
    {
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => new Shape(2, 0, 3)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Shape([]));
        Assert.Throws<ArgumentException>(() => new Shape(-1));
        Assert.Throws<ArgumentException>(() => new Shape(65536, 65536));
    }

    /// <summary>Names the backends every op runs on, and fails for names the suite does not know.</summary>
    [Fact]
    public void TheBackendsUnderTestAreKnown()
    {
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Backends under test: {string.Join(", ", TestBackends.Selected)} (AVX-512F {(Avx512F.IsSupported ? "present" : "absent")}, " +
            $"GRPCEXPLAIN_TEST_CUDA={Environment.GetEnvironmentVariable("GRPCEXPLAIN_TEST_CUDA") ?? "unset"}, " +
            $"GRPCEXPLAIN_TEST_BACKENDS={Environment.GetEnvironmentVariable("GRPCEXPLAIN_TEST_BACKENDS") ?? "unset"}).");
        Assert.NotEmpty(TestBackends.Selected);
        foreach (var name in TestBackends.Selected)
            Assert.True(TestBackends.Known.Contains(name), $"GRPCEXPLAIN_TEST_BACKENDS names '{name}'; known: {string.Join(", ", TestBackends.Known)}.");
    }
}
