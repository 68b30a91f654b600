namespace GrpcExplain.Cli;

/// <summary>The command line itself is wrong (exit code 2): a bad value, a missing or conflicting option, a path that does not exist.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Exit codes: 0 success, 1 a failure while running, 2 a wrong command line, 130 interrupted (as shells report SIGINT).</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;
}
