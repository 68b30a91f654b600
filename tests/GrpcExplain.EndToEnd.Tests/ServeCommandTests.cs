using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GrpcExplain.Cli;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace GrpcExplain.EndToEnd.Tests;

/// <summary>
/// <c>grpcexplain serve</c> as a command: each service on its own, TLS, and every wrong command line
/// ending as one message with exit code 2 (usage) or 1 (the machine said no), never a stack trace.
/// </summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("grpcexplain-serve-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("generator")]
    [InlineData("classifier")]
    public async Task ServesOneServiceUntilStopped(string service)
    {
        string[] args = service == "generator"
            ? ["serve", "generator", "--port", "0", "--weights", Fixtures.Weights, "--backend", "cpu"]
            : ["serve", "classifier", "--port", "0", "--model-repository", Fixtures.Repository, "--execution-provider", "cpu", "--model", "tiny_cnn"];
        await using var run = await ServeRun.StartAsync(args, service);
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", run.Addresses[service].ToString());
        using (var channel = Fixtures.Channel(run.Addresses[service])) await Fixtures.WaitForHealthAsync(channel, "");
        Assert.Equal(0, await run.StopAsync());
        // The log says when health changed, once.
        string healthy = service == "generator" ? "generator-model is Healthy: The generator is loaded." : "classifier-models is Healthy: The models are loaded.";
        Assert.Single(run.Stderr.Split('\n'), line => line.EndsWith(healthy, StringComparison.Ordinal));
        Assert.Contains("grpcexplain: stopped.", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACoordinatorWhoseServicesDoNotAnswerIsNotServingAndLogsWhy()
    {
        await using var run = await ServeRun.StartAsync(["serve", "coordinator", "--port", "0", "--generator", "127.0.0.1:1", "--classifier", "http://127.0.0.1:1",
            "--classifier-configs", Fixtures.Repository, "--directions", Path.Combine(_temp, "directions.db")], "coordinator");
        using var channel = Fixtures.Channel(run.Addresses["coordinator"]);
        Assert.Equal(ServingStatus.NotServing, await Fixtures.HealthAsync(channel, ""));
        Assert.Equal(ServingStatus.NotServing, await Fixtures.HealthAsync(channel, "grpcexplain.v1.ExplainerService"));
        Assert.Equal(0, await run.StopAsync());
        Assert.Single(run.Stderr.Split('\n'), line => line.Contains("coordinator-dependencies is Unhealthy: the generator at http://127.0.0.1:1/ does not answer (Unavailable); " +
            "the classifier service at http://127.0.0.1:1/ does not answer (Unavailable).", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("pem")]
    [InlineData("pfx")]
    public async Task ServesAllOverTlsAndTheCoordinatorTrustsItsOwnCertificate(string format)
    {
        using var certificate = Certificate(DateTimeOffset.Now.AddYears(1));
        string[] tls = format == "pem" ? ["--tls-certificate", WritePem(certificate, out string key), "--tls-key", key] : ["--tls-certificate", WritePfx(certificate, "secret"), "--tls-password", "secret"];
        await using var run = await ServeRun.StartAsync(ServeAll.Args(_temp, tls), "generator", "classifier", "coordinator");
        foreach (var (service, address) in run.Addresses)
        {
            Assert.Equal("https", address.Scheme);
            var trustOurs = new SocketsHttpHandler();
            trustOurs.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString();
            using var channel = Fixtures.Channel(address, trustOurs);
            await Fixtures.WaitForHealthAsync(channel, "");
        }
        Assert.Equal(0, await run.StopAsync());
        Assert.Contains("grpcexplain: generator: the coordinator in this process calls it over plain HTTP/2 on http://127.0.0.1:", run.Stderr, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[], string> UsageErrors => new()
    {
        { "no service", ["serve"], "Required command was not provided." },
        { "no weights", ["serve", "generator"], "Option '--weights' is required." },
        { "missing weights", ["serve", "generator", "--weights", "missing.safetensors"], "--weights 'missing.safetensors': no such file." },
        { "weights a folder", ["serve", "generator", "--weights", "."], "--weights '.' is a folder, not a file." },
        { "unknown backend", ["serve", "generator", "--weights", "{weights}", "--backend", "tpu"], "--backend 'tpu': choose one of auto, cpu, cuda, ilgpu-cpu." },
        { "batch size 0", ["serve", "generator", "--weights", "{weights}", "--max-batch-size", "0"], "--max-batch-size must be at least 1, got 0." },
        { "port out of range", ["serve", "generator", "--weights", "{weights}", "--port", "70000"], "--port must be from 0 to 65535 (0: any free port), got 70000." },
        { "port not a number", ["serve", "generator", "--weights", "{weights}", "--port", "http"], "Cannot parse argument 'http' for option '--port'" },
        { "host a name", ["serve", "generator", "--weights", "{weights}", "--host", "example.com"], "--host 'example.com': give an IP address to listen on" },
        { "message limit too small", ["serve", "generator", "--weights", "{weights}", "--max-message-bytes", "1000"], "--max-message-bytes must be at least 1 MiB (1048576), got 1000." },
        { "unknown log level", ["serve", "generator", "--weights", "{weights}", "--log-level", "loud"], "--log-level 'loud': choose one of trace, debug" },
        { "no repository", ["serve", "classifier"], "Option '--model-repository' is required." },
        { "missing repository", ["serve", "classifier", "--model-repository", "missing"], "--model-repository 'missing': no such folder." },
        { "repository a file", ["serve", "classifier", "--model-repository", "{weights}"], "is a file, not a folder." },
        { "unknown provider", ["serve", "classifier", "--model-repository", "{repository}", "--execution-provider", "tpu"], "--execution-provider 'tpu': choose one of auto, cpu, cuda." },
        { "negative threads", ["serve", "classifier", "--model-repository", "{repository}", "--intra-op-threads", "-1"], "--intra-op-threads must be 0 or more, got -1." },
        { "no upstreams", ["serve", "coordinator"], "Option '--generator' is required." },
        { "no classifier configs", ["serve", "coordinator", "--generator", "127.0.0.1:5", "--classifier", "127.0.0.1:6"], "Option '--classifier-configs' is required." },
        { "missing classifier configs", ["serve", "coordinator", "--generator", "127.0.0.1:5", "--classifier", "127.0.0.1:6", "--classifier-configs", "missing"], "--classifier-configs 'missing': no such folder." },
        { "upstream without a port", ["serve", "coordinator", "--generator", "localhost", "--classifier", "127.0.0.1:5", "--classifier-configs", "{repository}"], "--generator 'localhost': give host:port (plain HTTP/2) or http://host:port, https://host:port." },
        { "upstream not http", ["serve", "coordinator", "--generator", "127.0.0.1:5", "--classifier", "ftp://127.0.0.1:5", "--classifier-configs", "{repository}"], "--classifier 'ftp://127.0.0.1:5': give host:port" },
        { "directions a folder", ["serve", "coordinator", "--generator", "127.0.0.1:5", "--classifier", "127.0.0.1:6", "--classifier-configs", "{repository}", "--directions", "."], "--directions '.' is a folder; give the database file" },
        { "directions nowhere", ["serve", "all", "--weights", "{weights}", "--model-repository", "{repository}", "--directions", "/no/such/folder/d.db"], "--directions '/no/such/folder/d.db': no folder '/no/such/folder' to create it in." },
        { "all on one port", ["serve", "all", "--weights", "{weights}", "--model-repository", "{repository}", "--generator-port", "5000", "--coordinator-port", "5000"], "the three services need three ports; 5000 is given twice" },
        { "key without certificate", ["serve", "generator", "--weights", "{weights}", "--tls-key", "{weights}"], "--tls-key goes with --tls-certificate" },
        { "missing certificate", ["serve", "generator", "--weights", "{weights}", "--tls-certificate", "missing.pem"], "--tls-certificate 'missing.pem': no such file." },
        { "certificate not a certificate", ["serve", "generator", "--weights", "{weights}", "--tls-certificate", "{weights}"], "not a usable certificate and private key" },
        { "certificate without its key", ["serve", "generator", "--weights", "{weights}", "--tls-certificate", "{cert.pem}"], "not a usable certificate and private key" },
        { "pfx with a key file", ["serve", "generator", "--weights", "{weights}", "--tls-certificate", "{cert.pfx}", "--tls-key", "{key.pem}"], "--tls-key goes with a PEM certificate" },
        { "pfx with a wrong password", ["serve", "generator", "--weights", "{weights}", "--tls-certificate", "{cert.pfx}", "--tls-password", "wrong"], "not a usable certificate and private key" },
        { "expired certificate", ["serve", "generator", "--weights", "{weights}", "--tls-certificate", "{expired.pem}", "--tls-key", "{expired-key.pem}"], "expired on" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public void AWrongCommandLineIsOneMessageAndExitCode2(string name, string[] args, string message)
    {
        using var certificate = Certificate(DateTimeOffset.Now.AddYears(1));
        using var expired = Certificate(DateTimeOffset.Now.AddDays(-1));
        var files = new Dictionary<string, string>
        {
            ["{weights}"] = Fixtures.Weights,
            ["{repository}"] = Fixtures.Repository,
            ["{cert.pem}"] = WritePem(certificate, out string key),
            ["{key.pem}"] = key,
            ["{cert.pfx}"] = WritePfx(certificate, "secret"),
            ["{expired.pem}"] = WritePem(expired, out string expiredKey, "expired"),
            ["{expired-key.pem}"] = expiredKey,
        };
        var result = Run([.. args.Select(a => files.GetValueOrDefault(a, a))]);
        Assert.True(result.Exit == ExitCodes.Usage, $"{name}: {result}");
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void APortInUseIsOneMessageAndExitCode1()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var result = Run(["serve", "generator", "--weights", Fixtures.Weights, "--backend", "cpu", "--port", $"{port}"]);
        Assert.True(result.Exit == ExitCodes.Failure, result.ToString());
        Assert.Equal($"grpcexplain: generator: Failed to bind to address http://127.0.0.1:{port}: address already in use.", result.Stderr.Trim().Split('\n')[^1]);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    private sealed record Result(int Exit, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {Exit}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
    }

    /// <summary>Runs a command line that should fail before it serves; one that serves after all is stopped after 20 s (and fails its test).</summary>
    private static Result Run(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        giveUp.CancelAfter(TimeSpan.FromSeconds(20));
        int exit = CliApp.Run(args, stdout, TextWriter.Synchronized(stderr), cancellation: giveUp.Token);
        return new Result(exit, stdout.ToString(), stderr.ToString());
    }

    private static X509Certificate2 Certificate(DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(notAfter.AddYears(-2), notAfter);
    }

    private string WritePem(X509Certificate2 certificate, out string keyPath, string name = "cert")
    {
        string path = Path.Combine(_temp, $"{name}.pem");
        keyPath = Path.Combine(_temp, $"{name}-key.pem");
        File.WriteAllText(path, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return path;
    }

    private string WritePfx(X509Certificate2 certificate, string password)
    {
        string path = Path.Combine(_temp, "cert.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }
}
