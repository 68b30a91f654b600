using System.Globalization;
using Microsoft.Extensions.Logging;

namespace GrpcExplain.Cli.Serve;

/// <summary>
/// The services' logs as one line an entry on the command's stderr (not the process console, so that
/// tests see them too): time, level, service, source and message. An exception adds its type and
/// message; its stack trace only at debug level, where someone is looking for a bug. Health checks
/// are logged when their answer changes (loading → loaded, a dependency gone), not at every check.
/// </summary>
internal sealed class ServeLog(string service, TextWriter stderr, LogLevel minimum) : ILoggerProvider
{
    private const string HealthChecks = "Microsoft.Extensions.Diagnostics.HealthChecks";

    // Several hosts and their threads write to the same stderr.
    private static readonly Lock Gate = new();
    private readonly string _service = service;
    private readonly TextWriter _stderr = stderr;
    private readonly LogLevel _minimum = minimum;
    private readonly Dictionary<string, string> _health = [];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Our services log at <paramref name="minimum"/>; ASP.NET Core's own chatter (requests, lifetime) only from warnings.</summary>
    public static void Configure(ILoggingBuilder logging, string service, TextWriter stderr, LogLevel minimum)
    {
        logging.ClearProviders().SetMinimumLevel(minimum).AddProvider(new ServeLog(service, stderr, minimum));
        logging.AddFilter("Microsoft", (LogLevel)Math.Max((int)minimum, (int)LogLevel.Warning));
        // Every check's result, healthy ones at debug level: the logger keeps only the changes.
        logging.AddFilter(HealthChecks, LogLevel.Debug);
    }

    /// <summary>
    /// A health check's result as a line of its own, when it differs from the last one of that check;
    /// otherwise (and for the health check service's other entries) null. The health check service
    /// logs every NOT_SERVING answer as an error, a model that is still loading included.
    /// </summary>
    private (LogLevel, string)? HealthChange(EventId eventId, object? state)
    {
        if (eventId.Name != "HealthCheckEnd" || state is not IReadOnlyList<KeyValuePair<string, object?>> values) return null;
        string Value(string key) => values.FirstOrDefault(v => v.Key == key).Value?.ToString() ?? "";
        string name = Value("HealthCheckName"), status = Value("HealthStatus"), line = $"{name} is {status}: {Value("HealthCheckDescription")}";
        lock (_health)
        {
            if (_health.TryGetValue(name, out string? last) && last == line) return null;
            _health[name] = line;
        }
        return (status == "Healthy" ? LogLevel.Information : LogLevel.Warning, line);
    }

    private sealed class Logger(ServeLog provider, string category) : ILogger
    {
        private readonly bool _health = category.StartsWith(HealthChecks, StringComparison.Ordinal);
        private readonly string _source = category.StartsWith(HealthChecks, StringComparison.Ordinal) ? "health" : category[(category.LastIndexOf('.') + 1)..];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => (_health || logLevel >= provider._minimum) && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string message;
            if (_health && provider._minimum > LogLevel.Debug)
            {
                if (provider.HealthChange(eventId, state) is not (var level, var change) || level < provider._minimum) return;
                (logLevel, message, exception) = (level, change, null);
            }
            else
            {
                message = formatter(state, exception);
            }
            if (exception is not null)
            {
                message += provider._minimum <= LogLevel.Debug ? Environment.NewLine + exception
                    : message.Contains(exception.Message, StringComparison.Ordinal) ? $" ({exception.GetType().Name})"
                    : $" ({exception.GetType().Name}: {exception.Message})";
            }
            string line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.Now:HH:mm:ss} {Level(logLevel)} {provider._service} {_source}: {message}");
            lock (Gate)
            {
                provider._stderr.WriteLine(line);
                provider._stderr.Flush();
            }
        }

        private static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info ",
            LogLevel.Warning => "warn ",
            LogLevel.Error => "error",
            _ => "crit ",
        };
    }
}
