namespace GrpcExplain.Kernels;

/// <summary>
/// A contiguous float32 tensor owned by one backend (host memory for the CPU backend, device memory
/// for ILGPU). Data moves between host and backend only through <see cref="Backend.Upload"/> and
/// <see cref="Backend.Download(Tensor)"/>, so a chain of ops never leaves the device.
/// </summary>
public abstract class Tensor : IDisposable
{
    protected Tensor(Backend owner, Shape shape)
    {
        Owner = owner;
        Shape = shape;
    }

    public Backend Owner { get; }
    public Shape Shape { get; }
    public int Length => Shape.Length;
    public bool IsDisposed { get; private set; }

    /// <summary>Counts the writes through <see cref="Backend"/>: caches of derived data compare it.</summary>
    internal long Version { get; private set; }

    internal void Touch() => Version++;

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Release();
        GC.SuppressFinalize(this);
    }

    protected abstract void Release();
    public override string ToString() => $"Tensor{Shape} on {Owner.Name}";
}
