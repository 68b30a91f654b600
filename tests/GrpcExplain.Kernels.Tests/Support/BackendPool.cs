[assembly: AssemblyFixture(typeof(GrpcExplain.Kernels.Tests.Support.BackendPool))]

namespace GrpcExplain.Kernels.Tests.Support;

/// <summary>
/// One instance of each backend for the whole run (an ILGPU context is slow to create and compiles
/// each kernel once), handed out one test at a time for the accelerator backends, whose streams are
/// not meant to be driven from several threads. The CPU backends are stateless and shared freely.
/// </summary>
public sealed class BackendPool : IDisposable
{
    private readonly Dictionary<string, Lazy<Backend>> _backends = [];
    private readonly Dictionary<string, SemaphoreSlim> _locks = [];
    private readonly Lock _gate = new();

    public Lease Acquire(string name)
    {
        Lazy<Backend> lazy;
        SemaphoreSlim? gate = null;
        lock (_gate)
        {
            if (!_backends.TryGetValue(name, out lazy!))
            {
                // A failed creation is cached too, so every case of that backend fails with the same reason.
                lazy = new Lazy<Backend>(() => TestBackends.Create(name), LazyThreadSafetyMode.ExecutionAndPublication);
                _backends[name] = lazy;
                _locks[name] = new SemaphoreSlim(1, 1);
            }
            if (!name.StartsWith("cpu", StringComparison.Ordinal)) gate = _locks[name];
        }
        var backend = lazy.Value;
        gate?.Wait();
        return new Lease(backend, gate);
    }

    public void Dispose()
    {
        foreach (var lazy in _backends.Values)
            if (lazy.IsValueCreated) lazy.Value.Dispose();
        foreach (var s in _locks.Values) s.Dispose();
    }

    public sealed class Lease(Backend backend, SemaphoreSlim? gate) : IDisposable
    {
        public Backend Backend { get; } = backend;
        public void Dispose() => gate?.Release();
    }
}
