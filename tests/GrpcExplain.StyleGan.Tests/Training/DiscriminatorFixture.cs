using System.Text.Json;
using GrpcExplain.StyleGan.Tests.Fidelity;
using GrpcExplain.StyleGan.Training;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Training;

/// <summary>
/// Fixtures/discriminator32 (tools/stylegan2/make_discriminator_fixtures.py): the weights, the images,
/// PyTorch's logits, float64 gradients of Σ logits·r, and the R1 penalty with its exact parameter
/// gradient by double backward. Loaded once per run.
/// </summary>
public sealed class DiscriminatorFixture
{
    private static readonly Lazy<DiscriminatorFixture> Instance = new(() => new DiscriminatorFixture("discriminator32"));
    private readonly IReadOnlyDictionary<string, HostTensor> _tensors;

    private DiscriminatorFixture(string name)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "cases.json")));
        Weights = DiscriminatorWeights.Load(Path.Combine(dir, doc.RootElement.GetProperty("weights").GetString()!));
        FileTensorNames = SafeTensors.Read(Path.Combine(dir, "discriminator.safetensors")).Tensors.Keys.ToList();
        Parameters = [.. doc.RootElement.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()!)];
        _tensors = SafeTensors.Read(Path.Combine(dir, doc.RootElement.GetProperty("tensors").GetString()!)).Tensors;
        Batch = doc.RootElement.GetProperty("batch").GetInt32();
    }

    public static DiscriminatorFixture Get() => Instance.Value;

    public DiscriminatorWeights Weights { get; }

    /// <summary>Every tensor name in the weights file, the resample_filter buffers included.</summary>
    public IReadOnlyList<string> FileTensorNames { get; }

    /// <summary>D.named_parameters() in PyTorch's order.</summary>
    public IReadOnlyList<string> Parameters { get; }

    public int Batch { get; }
    public float[] this[string name] => _tensors[name].Data;
}

/// <summary>One backend per name and one discriminator per backend for a test class's rows (ILGPU compiles its kernels per context).</summary>
public sealed class DiscriminatorCache : IDisposable
{
    private readonly Dictionary<string, Kernels.Backend> _backends = [];
    private readonly Dictionary<string, Discriminator> _discriminators = [];

    public Discriminator Get(string backend)
    {
        lock (_discriminators)
        {
            if (_discriminators.TryGetValue(backend, out var d)) return d;
            if (!_backends.TryGetValue(backend, out var b)) _backends[backend] = b = FidelityBackends.Create(backend);
            return _discriminators[backend] = new Discriminator(b, DiscriminatorFixture.Get().Weights);
        }
    }

    public static TheoryData<string> Backends(bool emulator)
    {
        var rows = new TheoryData<string>();
        foreach (var b in FidelityBackends.Selected)
            if (emulator || b != FidelityBackends.IlgpuCpu) rows.Add(b);
        return rows;
    }

    public void Dispose()
    {
        foreach (var d in _discriminators.Values) d.Dispose();
        foreach (var b in _backends.Values) b.Dispose();
    }
}
