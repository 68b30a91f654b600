using GrpcExplain.Kernels;
using GrpcExplain.Kernels.Cpu;

namespace NativeBench;

/// <summary>One column of the benchmark: a backend, or the CPU backend pinned to one instruction set.</summary>
internal sealed record Variant(string Name, Backend Backend);

internal static class Variants
{
    public static IReadOnlyList<string> Names { get; } = ["cpu", "cpu-avx512", "cpu-vector256", "cpu-direct", "cuda", "ilgpu-cpu", "auto"];

    /// <summary>
    /// Creates the asked-for variants; one that cannot run here (no CUDA device, no AVX-512) is reported
    /// and left out. With <paramref name="isaVariants"/> the CPU backend's instruction-set variants are
    /// added, except the one that "cpu" already is on this processor, and cpu-direct (Winograd off, so
    /// both of the CPU's 3x3 paths show side by side).
    /// </summary>
    public static List<Variant> Create(IReadOnlyList<string> names, bool isaVariants, TextWriter log)
    {
        var wanted = names.ToList();
        if (isaVariants)
        {
            var autoIsa = new CpuBackend().Isa;
            foreach (var (name, isa) in new[] { ("cpu-avx512", CpuIsa.Avx512), ("cpu-vector256", CpuIsa.Vector256) })
            {
                if (wanted.Contains("cpu") && isa == autoIsa) log.WriteLine($"  {name}: that is what cpu runs on this processor, so its rows are cpu's.");
                else if (!wanted.Contains(name)) wanted.Insert(wanted.Contains("cpu") ? wanted.IndexOf("cpu") + 1 : wanted.Count, name);
            }
            if (!wanted.Contains("cpu-direct")) wanted.Insert(wanted.Contains("cpu") ? wanted.IndexOf("cpu") + 1 : wanted.Count, "cpu-direct");
        }

        var variants = new List<Variant>();
        foreach (var name in wanted)
        {
            try
            {
                var backend = Create(name);
                var label = name == "auto" ? backend.Name : name;
                if (variants.Any(v => v.Name == label))
                {
                    log.WriteLine($"  {name}: same as {label}, listed once.");
                    backend.Dispose();
                    continue;
                }
                variants.Add(new Variant(label, backend));
                log.WriteLine($"  {label,-14} {backend.Device}{(backend is GrpcExplain.Kernels.Ilgpu.IlgpuBackend ilgpu ? $", GEMM {ilgpu.GemmVersion}" : "")}");
            }
            catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException or NotSupportedException or DllNotFoundException)
            {
                log.WriteLine($"  {name,-14} unavailable here: {e.Message}");
            }
        }
        return variants;
    }

    private static Backend Create(string name) => name switch
    {
        "cpu-avx512" => new CpuBackend(new CpuBackendOptions { Isa = CpuIsa.Avx512 }),
        "cpu-vector256" => new CpuBackend(new CpuBackendOptions { Isa = CpuIsa.Vector256 }),
        "cpu-direct" => new CpuBackend(new CpuBackendOptions { WinogradMinPixels = int.MaxValue }),
        _ => Backends.Create(name),
    };
}
