using System.Diagnostics;

namespace GrpcExplain.Cli;

/// <summary>
/// One self-rewriting status line on stderr while a long run goes on; silent unless stderr is a
/// terminal, so that redirected output and tests see only the summary and errors.
/// </summary>
internal sealed class ConsoleProgress(TextWriter stderr, bool enabled) : IDisposable
{
    private readonly Stopwatch _clock = new();
    private TimeSpan? _shown;
    private int _width;

    /// <summary>The first report (done = 0) starts the clock that the estimate of the time left uses.</summary>
    public void Report(string what, int done, int total)
    {
        if (!enabled) return;
        if (done == 0)
        {
            _clock.Restart();
            _shown = null;
        }
        // A few updates a second are enough to read, and cheap on slow terminals.
        if (done < total && _shown is { } last && _clock.Elapsed - last < TimeSpan.FromMilliseconds(100)) return;
        _shown = _clock.Elapsed;
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
