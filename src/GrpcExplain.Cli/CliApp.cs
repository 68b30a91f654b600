using System.CommandLine;
using GrpcExplain.Cli.Classify;
using GrpcExplain.Cli.Demo;
using GrpcExplain.Cli.Explain;
using GrpcExplain.Cli.Serve;
using GrpcExplain.Cli.Synthesize;
using GrpcExplain.Cli.Train;

namespace GrpcExplain.Cli;

/// <summary>
/// The <c>grpcexplain</c> command. Every error ends as one message on stderr and an exit code
/// (<see cref="ExitCodes"/>), never a stack trace: the program is for clinicians' engineers, not for us.
/// </summary>
public static class CliApp
{
    /// <summary>
    /// Runs the command line; <paramref name="interactive"/> enables progress on stderr (a terminal), and
    /// <paramref name="cancellation"/> stops a run between batches (exit code 130).
    /// </summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive = false, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        var root = new RootCommand("Counterfactual explanations for medical-imaging classifiers with StyleGAN2.")
        {
            SynthesizeCommand.Create(stdout, stderr, interactive, cancellation),
            ServeCommand.Create(stdout, stderr, cancellation),
            ExplainCommand.Create(stdout, stderr, interactive, cancellation),
            DemoCommand.Create(stdout, stderr, interactive, cancellation),
            TrainCommand.Create(stdout, stderr, interactive, cancellation),
            ClassifyCommand.Create(stdout, stderr, cancellation),
            DemoCommand.MakeSyntheticPairing(stdout),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) stderr.WriteLine($"grpcexplain: {error.Message}");
            stderr.WriteLine($"Run '{string.Join(' ', ["grpcexplain", .. CommandPath(parsed)])} --help' for usage.");
            return ExitCodes.Usage;
        }
        try
        {
            // Signals are the caller's to handle (Program), so that tests run the same code without them.
            return parsed.Invoke(new InvocationConfiguration
            {
                Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
            });
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"grpcexplain: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("grpcexplain: interrupted; files already written are complete, unfinished ones were removed.");
            return ExitCodes.Cancelled;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException)
        {
            stderr.WriteLine($"grpcexplain: {e.Message}");
            return ExitCodes.Failure;
        }
#pragma warning disable CA1031 // the last resort: a bug must still end as one line, not a stack trace
        catch (Exception e)
#pragma warning restore CA1031
        {
            stderr.WriteLine($"grpcexplain: internal error ({e.GetType().Name}): {e.Message}");
            return ExitCodes.Failure;
        }
    }

    private static List<string> CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent) names.Insert(0, r.Command.Name);
        return names;
    }
}
