using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GrpcExplain.Kernels.Cpu;

/// <summary>Host memory for one tensor.</summary>
internal sealed unsafe class CpuTensor(CpuBackend owner, Shape shape, float[] data) : Tensor(owner, shape)
{
    // Pinned (see CpuBackend.Rent), so the GEMM's packers can hold raw pointers across worker threads.
    public float[] Data { get; } = data;
    public float* Pointer => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Data));
    protected override void Release() => owner.Return(Data);
}

/// <summary>Which SIMD micro-kernels the CPU backend uses.</summary>
public enum CpuIsa
{
    /// <summary>The widest this processor supports.</summary>
    Auto,
    /// <summary>AVX-512F, 512-bit vectors.</summary>
    Avx512,
    /// <summary>256-bit vectors through System.Runtime.Intrinsics' portable API (AVX2+FMA on x64, NEON pairs on Arm, software elsewhere).</summary>
    Vector256,
}

public sealed record CpuBackendOptions
{
    public CpuIsa Isa { get; init; } = CpuIsa.Auto;

    /// <summary>Worker threads; all cores by default.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Stride-1 3x3 forward convolutions on maps of at least this many pixels (even sides) use Winograd's
    /// F(2x2, 3x3) (<see cref="Winograd"/>); int.MaxValue turns it off, 0 uses it on every even map.
    /// </summary>
    public int WinogradMinPixels { get; init; } = Winograd.DefaultMinPixels;
}

/// <summary>
/// The fast CPU path: SIMD C# (AVX-512 where the processor has it, a portable 256-bit fallback),
/// convolutions as implicit GEMMs over packed operands with register-blocked micro-kernels, on all cores.
/// </summary>
public sealed partial class CpuBackend : Backend
{
    public CpuBackend() : this(new CpuBackendOptions()) { }

    public CpuBackend(CpuBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads < 1) throw new ArgumentException($"Threads must be at least 1, got {options.Threads}.", nameof(options));
        Isa = options.Isa switch
        {
            CpuIsa.Auto => Avx512F.IsSupported ? CpuIsa.Avx512 : CpuIsa.Vector256,
            CpuIsa.Avx512 when !Avx512F.IsSupported => throw new PlatformNotSupportedException("This processor has no AVX-512F."),
            var isa => isa,
        };
        Threads = options.Threads;
        WinogradMinPixels = options.WinogradMinPixels;
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = Threads };
        _team = Threads > 1 ? new ForkJoin(Threads) : null;
    }

    public CpuIsa Isa { get; }
    public int Threads { get; }
    public int WinogradMinPixels { get; }
    private readonly ParallelOptions _parallel;
    private readonly ForkJoin? _team;

    protected override void Dispose(bool disposing)
    {
        if (disposing) _team?.Dispose();
        base.Dispose(disposing);
    }

    public override string Name => "cpu";
    public override string Device =>
        $"{Environment.ProcessorCount}-core {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} CPU, " +
        $"{(Isa == CpuIsa.Avx512 ? "AVX-512" : Vector256.IsHardwareAccelerated ? "256-bit SIMD" : "software SIMD")}, {Threads} threads";

    internal static float[] D(Tensor t) => ((CpuTensor)t).Data;
    internal static float[]? DOrNull(Tensor? t) => t is null ? null : ((CpuTensor)t).Data;
    internal static unsafe float* P(Tensor? t) => t is null ? null : ((CpuTensor)t).Pointer;

    protected override Tensor AllocateCore(Shape shape) => new CpuTensor(this, shape, Rent(shape.Length));
    protected override void UploadCore(ReadOnlySpan<float> values, Tensor destination) => values.CopyTo(D(destination));
    protected override void DownloadCore(Tensor source, Span<float> destination) => D(source).CopyTo(destination);
    public override void Synchronize() { }

    /// <summary>Runs body(i) for i in [0, count) on the backend's threads; inline when one is enough.</summary>
    internal void For(int count, Action<int> body, long workPerItem = long.MaxValue)
    {
        // Below ~50k multiply-adds in total, handing work to another thread costs more than it saves.
        if (count == 1 || Threads == 1 || workPerItem * count < 50_000)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        if (_team is not null && _team.TryRun(count, body)) return;
        Parallel.For(0, count, _parallel, body);
    }
}
