using System.Diagnostics;

namespace GrpcExplain.Cli;

/// <summary>
/// One self-rewriting status line on stderr while a long run goes on; silent unless stderr is a
/// terminal, so that redirected output and tests see only the summary and errors.
/// </summary>
internal sealed class ConsoleProgress(TextWriter stderr, bool enabled) : IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _width;

    public void Report(string what, int done, int total)
    {
        if (!enabled) return;
        double seconds = _clock.Elapsed.TotalSeconds;
        string eta = done > 0 && done < total ? $", about {seconds / done * (total - done):F0} s left" : "";
        string line = $"  {what} {done}/{total} ({100.0 * done / total:F0}%), {seconds:F1} s{eta}";
        stderr.Write("\r" + line.PadRight(_width));
        _width = line.Length;
        stderr.Flush();
    }

    public void Dispose()
    {
        if (!enabled || _width == 0) return;
        stderr.Write("\r" + new string(' ', _width) + "\r");
        stderr.Flush();
    }
}
