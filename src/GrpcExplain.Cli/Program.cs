using System.Runtime.InteropServices;
using GrpcExplain.Cli;

// Ctrl+C and SIGTERM stop a run between batches, so that no temporary file is left behind;
// a second Ctrl+C ends the process at once.
using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !interrupted.IsCancellationRequested;
    interrupted.Cancel();
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    interrupted.Cancel();
});
return CliApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsErrorRedirected, interrupted.Token);
