using System.CommandLine;

namespace GrpcExplain.Cli.Serve;

/// <summary>
/// <c>grpcexplain serve generator|classifier|coordinator|all</c>: each service in its own ASP.NET Core
/// host (all: three hosts in this process), until Ctrl+C or SIGTERM. Each host prints
/// "NAME listening on URL" on stdout once it is bound, for people and for scripts; logs go to stderr.
/// </summary>
internal static class ServeCommand
{
    // The services' usual ports (as their own Programs use them).
    public const int GeneratorPort = 50051, ClassifierPort = 50052, CoordinatorPort = 50053;

    public static Command Create(TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var run = new Runner(stdout, stderr, cancellation);
        return new Command("serve", "Run the gRPC services: plain HTTP/2 on 127.0.0.1 by default, TLS with --tls-certificate. " +
            "Each prints 'NAME listening on URL' once bound and runs until Ctrl+C or SIGTERM, then stops gracefully. " +
            "A model that fails to load leaves its service NOT_SERVING (grpc.health.v1), with the reason in the log.")
        {
            Generator(run), Classifier(run), Coordinator(run), All(run),
        };
    }

    private static Command Generator(Runner run) => Single(run, "generator", "generator service", GeneratorPort, new GeneratorServeOptions(),
        "Serve grpcexplain.v1.GeneratorService (StyleGAN2 mapping, synthesis, latent gradients).");

    private static Command Classifier(Runner run) => Single(run, "classifier", "classifier service", ClassifierPort, new ClassifierServeOptions(),
        "Serve a model repository over the Open Inference Protocol (inference.GRPCInferenceService, as Triton and KServe speak it).");

    private static Command Coordinator(Runner run) => Single(run, "coordinator", "coordinator", CoordinatorPort, new CoordinatorServeOptions(),
        "Serve grpcexplain.v1.ExplainerService (Explain, FitDirection) in front of a generator service and an Open Inference Protocol server; " +
        "its health is SERVING while both answer.");

    /// <summary>One service on --port.</summary>
    private static Command Single(Runner run, string name, string what, int defaultPort, IServiceOptions service, string description)
    {
        var (common, port) = (new ServeOptions(), ServeOptions.Port("--port", defaultPort, what));
        var command = new Command(name, description);
        Add(command, [port, .. service.All, .. common.All]);
        command.SetAction(parsed =>
        {
            int p = ServeOptions.CheckPort(parsed, port);
            var settings = common.Bind(parsed);
            var definition = service.Bind(parsed, settings);
            return run.Execute(settings, hosts => hosts.StartAsync(definition, p));
        });
        return command;
    }

    private static Command All(Runner run)
    {
        var (common, generator, classifier, directions) = (new ServeOptions(), new GeneratorServeOptions(), new ClassifierServeOptions(), CoordinatorServeOptions.Directions());
        Option<int>[] ports =
        [
            ServeOptions.Port("--generator-port", GeneratorPort, "generator service"),
            ServeOptions.Port("--classifier-port", ClassifierPort, "classifier service"),
            ServeOptions.Port("--coordinator-port", CoordinatorPort, "coordinator"),
        ];
        var command = new Command("all", "Serve the generator, the classifier and a coordinator that uses them (with the classifier.json files " +
            "of --model-repository): three hosts on three ports in this process.");
        Add(command, [.. ports, .. generator.All, .. classifier.All, directions, .. common.All]);
        command.SetAction(parsed =>
        {
            int[] p = [.. ports.Select(o => ServeOptions.CheckPort(parsed, o))];
            if (p.Where(x => x != 0).GroupBy(x => x).FirstOrDefault(g => g.Count() > 1) is { } same)
                throw new UsageException($"the three services need three ports; {same.Key} is given twice (0 picks a free one).");
            var settings = common.Bind(parsed);
            var (generatorService, classifierService) = (generator.Bind(parsed, settings), classifier.Bind(parsed, settings));
            string directionsPath = CoordinatorServeOptions.DirectionsPath(parsed, directions);
            return run.Execute(settings, async hosts =>
            {
                var g = await hosts.StartAsync(generatorService, p[0], inProcessEndpoint: true).ConfigureAwait(false);
                var c = await hosts.StartAsync(classifierService, p[1], inProcessEndpoint: true).ConfigureAwait(false);
                var coordinator = CoordinatorServeOptions.Definition(g.ClientAddress, c.ClientAddress, classifier.Repository(parsed), directionsPath, settings);
                await hosts.StartAsync(coordinator, p[2]).ConfigureAwait(false);
            });
        });
        return command;
    }

    private static void Add(Command command, IEnumerable<Option> options)
    {
        foreach (var option in options) command.Options.Add(option);
    }

    /// <summary>Starts the hosts, waits for the signal to stop, and stops them: exit code 0 when stopped by the caller.</summary>
    private sealed class Runner(TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        public int Execute(ServeSettings settings, Func<ServiceHosts, Task> start) => ExecuteAsync(settings, start).GetAwaiter().GetResult();

        private async Task<int> ExecuteAsync(ServeSettings settings, Func<ServiceHosts, Task> start)
        {
            await using var hosts = new ServiceHosts(settings, stdout, stderr, cancellation);
            try
            {
                await start(hosts).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                await hosts.StopAsync().ConfigureAwait(false);
                return ExitCodes.Success;
            }
            return await hosts.RunAsync().ConfigureAwait(false);
        }
    }
}
