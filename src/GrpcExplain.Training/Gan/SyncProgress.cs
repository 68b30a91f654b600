namespace GrpcExplain.Training.Gan;

/// <summary>Reports on the reporting thread, at once (System.Progress would post to the thread pool, after the work ended).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
