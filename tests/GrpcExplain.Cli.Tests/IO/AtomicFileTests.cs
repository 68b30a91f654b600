using GrpcExplain.Cli.IO;

namespace GrpcExplain.Cli.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void CommitReplacesTheFileWhole()
    {
        var path = Path.Combine(_dir, "a.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        AtomicFile.Write(path, s => s.Write([4, 5]));
        Assert.Equal([4, 5], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void AFailureBeforeCommitKeepsTheOldFileAndLeavesNoTemporary()
    {
        var path = Path.Combine(_dir, "a.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([9, 9, 9, 9]);
            throw new InvalidOperationException("died half-way");
        }));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void TheTemporaryLivesBesideTheTargetUntilCommit()
    {
        var path = Path.Combine(_dir, "b.bin");
        using var file = AtomicFile.Create(path);
        file.Stream.Write([1]);
        Assert.False(File.Exists(path));
        Assert.Single(Directory.GetFiles(_dir, ".b.bin.*.tmp"));
        file.Commit();
        Assert.Equal([1], File.ReadAllBytes(path));
    }
}
