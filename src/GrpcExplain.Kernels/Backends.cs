using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Kernels.Ilgpu;

namespace GrpcExplain.Kernels;

/// <summary>Which backend runs the kernels: <c>auto</c> is CUDA when a CUDA device is present, else <c>cpu</c>.</summary>
public enum BackendKind { Auto, Cpu, Cuda, IlgpuCpu }

public static class Backends
{
    public static IReadOnlyList<string> Names { get; } = ["auto", "cpu", "cuda", "ilgpu-cpu"];

    public static BackendKind Parse(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "auto" => BackendKind.Auto,
        "cpu" => BackendKind.Cpu,
        "cuda" => BackendKind.Cuda,
        "ilgpu-cpu" => BackendKind.IlgpuCpu,
        _ => throw new ArgumentException($"Unknown backend '{name}'. Choose one of: {string.Join(", ", Names)}.", nameof(name)),
    };

    public static Backend Create(string name) => Create(Parse(name));

    public static Backend Create(BackendKind kind) => kind switch
    {
        BackendKind.Auto => IlgpuBackend.IsCudaAvailable() ? IlgpuBackend.CreateCuda() : new CpuBackend(),
        BackendKind.Cpu => new CpuBackend(),
        BackendKind.Cuda => IlgpuBackend.IsCudaAvailable()
            ? IlgpuBackend.CreateCuda()
            : throw new InvalidOperationException("Backend 'cuda' was asked for but no CUDA device was found (is the NVIDIA driver installed?). Use 'auto' or 'cpu'."),
        BackendKind.IlgpuCpu => IlgpuBackend.CreateCpu(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
