using GrpcExplain.Kernels;
using System.Text.Json;
using GrpcExplain.StyleGan.Tests.Fidelity;
using GrpcExplain.StyleGan.Training;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>
/// A fixture of tools/stylegan2/make_discriminator_fixtures.py: the weights, the images, PyTorch's
/// logits, float64 gradients of Σ logits·r, and the R1 penalty with its exact parameter gradient by
/// double backward. discriminator32: grey, clamp reached, 8 images in 2 stddev groups;
/// discriminator16: RGB, no clamp, 6 images in 3 groups of 2, 2 stddev features. Loaded once per run.
/// </summary>
public sealed class DiscriminatorFixture
{
    public const string Grey32 = "discriminator32", Rgb16 = "discriminator16";
    public static IReadOnlyList<string> All { get; } = [Grey32, Rgb16];

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<DiscriminatorFixture>> Cache = new();
    private readonly IReadOnlyDictionary<string, HostTensor> _tensors;

    private DiscriminatorFixture(string name)
    {
        Name = name;
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "cases.json")));
        Weights = DiscriminatorWeights.Load(Path.Combine(dir, doc.RootElement.GetProperty("weights").GetString()!));
        FileTensorNames = SafeTensors.Read(Path.Combine(dir, "discriminator.safetensors")).Tensors.Keys.ToList();
        Parameters = [.. doc.RootElement.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()!)];
        _tensors = SafeTensors.Read(Path.Combine(dir, doc.RootElement.GetProperty("tensors").GetString()!)).Tensors;
        Batch = doc.RootElement.GetProperty("batch").GetInt32();
    }

    public static DiscriminatorFixture Get(string name) => Cache.GetOrAdd(name, n => new Lazy<DiscriminatorFixture>(() => new DiscriminatorFixture(n))).Value;

    public string Name { get; }

    public DiscriminatorWeights Weights { get; }

    /// <summary>Every tensor name in the weights file, the resample_filter buffers included.</summary>
    public IReadOnlyList<string> FileTensorNames { get; }

    /// <summary>D.named_parameters() in PyTorch's order.</summary>
    public IReadOnlyList<string> Parameters { get; }

    public int Batch { get; }
    public float[] this[string name] => _tensors[name].Data;
}

/// <summary>
/// One backend per name and one discriminator per (fixture, backend) for a test class's rows (ILGPU
/// compiles its kernels per context).
/// </summary>
public sealed class DiscriminatorCache : IDisposable
{
    private readonly Dictionary<string, Kernels.Backend> _backends = [];
    private readonly Dictionary<(string, string), Discriminator> _discriminators = [];

    public Discriminator Get(string fixture, string backend)
    {
        lock (_discriminators)
        {
            if (_discriminators.TryGetValue((fixture, backend), out var d)) return d;
            if (!_backends.TryGetValue(backend, out var b)) _backends[backend] = b = FidelityBackends.Create(backend);
            return _discriminators[(fixture, backend)] = new Discriminator(b, DiscriminatorFixture.Get(fixture).Weights);
        }
    }

    /// <summary>(fixture, backend) rows: every selected backend on every fixture, ILGPU's slow CPU emulator only on the smallest when asked for.</summary>
    public static TheoryData<string, string> Rows(bool emulator)
    {
        var rows = new TheoryData<string, string>();
        foreach (var f in DiscriminatorFixture.All)
            foreach (var b in FidelityBackends.Selected)
                if (b != FidelityBackends.IlgpuCpu || (emulator && f == DiscriminatorFixture.Rgb16)) rows.Add(f, b);
        return rows;
    }

    public void Dispose()
    {
        foreach (var d in _discriminators.Values) d.Dispose();
        foreach (var b in _backends.Values) b.Dispose();
    }
}
