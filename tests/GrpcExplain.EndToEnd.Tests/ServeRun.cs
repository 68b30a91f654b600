using System.Text;
using System.Threading.Channels;
using GrpcExplain.Cli;

namespace GrpcExplain.EndToEnd.Tests;

/// <summary>
/// One <c>grpcexplain serve ...</c> run in this process, exactly as Program runs it (CliApp on its own
/// thread, stopped by cancelling as Ctrl+C does), with the addresses it printed.
/// </summary>
public sealed class ServeRun : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly LineWriter _stdout = new();
    private readonly StringWriter _stderrText = new();
    private readonly TextWriter _stderr;
    private readonly Task<int> _exit;

    private ServeRun(string[] args)
    {
        _stderr = TextWriter.Synchronized(_stderrText);
        _exit = Task.Factory.StartNew(() => CliApp.Run(args, _stdout, _stderr, interactive: false, _stop.Token),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Where each service listens, by name ("generator", ...), from its "NAME listening on URL" line.</summary>
    public Dictionary<string, Uri> Addresses { get; } = [];

    public string Stdout => _stdout.Text;

    public string Stderr
    {
        get
        {
            // TextWriter.Synchronized locks on the wrapper for every write.
            lock (_stderr) return _stderrText.ToString();
        }
    }

    /// <summary>Starts the command and waits until <paramref name="services"/> have printed their addresses.</summary>
    public static async Task<ServeRun> StartAsync(string[] args, params string[] services)
    {
        var run = new ServeRun(args);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (run.Addresses.Count < services.Length)
        {
            var line = run._stdout.ReadLineAsync();
            var ended = await Task.WhenAny(line, run._exit, Task.Delay(Max(deadline - DateTime.UtcNow, TimeSpan.Zero), TestContext.Current.CancellationToken));
            if (ended == run._exit) Assert.Fail($"grpcexplain {string.Join(' ', args)} ended with exit code {run._exit.Result} before it listened:\n{run.Stderr}");
            if (ended != line) Assert.Fail($"grpcexplain {string.Join(' ', args)} did not print its addresses in 60 s:\n{run.Stdout}\n{run.Stderr}");
            var words = (await line).Split(' ');
            Assert.True(words is [_, "listening", "on", _], $"unexpected line on stdout: {string.Join(' ', words)}");
            run.Addresses[words[0]] = new Uri(words[3]);
        }
        Assert.Equal(services.Order(), run.Addresses.Keys.Order());
        return run;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Stops it as Ctrl+C does; returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await _exit.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_exit.IsCompleted) await StopAsync();
        _stop.Dispose();
    }

    /// <summary>stdout, line by line as the command writes it.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly StringBuilder _all = new();
        private readonly StringBuilder _line = new();
        private readonly Lock _gate = new();

        public override Encoding Encoding => Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_gate) return _all.ToString();
            }
        }

        public Task<string> ReadLineAsync() => _lines.Reader.ReadAsync().AsTask();

        public override void Write(char value)
        {
            lock (_gate)
            {
                _all.Append(value);
                if (value == '\r') return;
                if (value != '\n')
                {
                    _line.Append(value);
                    return;
                }
                _lines.Writer.TryWrite(_line.ToString());
                _line.Clear();
            }
        }
    }
}
