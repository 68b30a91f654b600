namespace GrpcExplain.Cli.IO;

/// <summary>
/// A file written under a temporary name in its final folder and renamed into place on
/// <see cref="Commit"/>: a crash or an error leaves the previous file, never a half-written one.
/// </summary>
internal sealed class AtomicFile : IDisposable
{
    private readonly string _path;
    private readonly string _temporary;
    private bool _committed;

    private AtomicFile(string path)
    {
        _path = Path.GetFullPath(path);
        _temporary = Path.Combine(Path.GetDirectoryName(_path)!, $".{Path.GetFileName(_path)}.{Guid.NewGuid():N}.tmp");
        Stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
    }

    public static AtomicFile Create(string path) => new(path);

    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var file = Create(path);
        write(file.Stream);
        file.Commit();
    }

    public FileStream Stream { get; }

    public void Commit()
    {
        Stream.Flush(flushToDisk: true);
        Stream.Dispose();
        File.Move(_temporary, _path, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        Stream.Dispose();
        File.Delete(_temporary);
    }
}
