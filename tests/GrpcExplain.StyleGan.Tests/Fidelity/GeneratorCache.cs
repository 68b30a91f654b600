namespace GrpcExplain.StyleGan.Tests.Fidelity;

/// <summary>
/// One backend per name and one generator per (fixture, backend) for a test class's rows, which run
/// one after another: ILGPU compiles its kernels per context, seconds on the CPU emulator, so
/// a backend per row would cost more than the comparisons. A long-lived generator serving many
/// requests is also how the service uses it.
/// </summary>
public sealed class GeneratorCache : IDisposable
{
    private readonly Dictionary<string, Kernels.Backend> _backends = [];
    private readonly Dictionary<(string, string), StyleGan.Generator> _generators = [];

    public StyleGan.Generator Get(Fixture fixture, string backend)
    {
        lock (_generators)
        {
            if (_generators.TryGetValue((fixture.Name, backend), out var g)) return g;
            if (!_backends.TryGetValue(backend, out var b)) _backends[backend] = b = FidelityBackends.Create(backend);
            return _generators[(fixture.Name, backend)] = new StyleGan.Generator(b, fixture.Weights);
        }
    }

    public void Dispose()
    {
        foreach (var g in _generators.Values) g.Dispose();
        foreach (var b in _backends.Values) b.Dispose();
    }
}
