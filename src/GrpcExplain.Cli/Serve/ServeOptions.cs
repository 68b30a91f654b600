using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace GrpcExplain.Cli.Serve;

/// <summary>What every served host shares: where it listens, its TLS certificate, its message limit and how much it logs.</summary>
internal sealed record ServeSettings(IPAddress Host, X509Certificate2? Certificate, int MaxMessageBytes, LogLevel LogLevel);

/// <summary>
/// The options every <c>serve</c> command has (host, TLS, message size, log level), checked into
/// <see cref="ServeSettings"/>: each wrong value is a <see cref="UsageException"/> that says what to
/// write instead, found before any host starts.
/// </summary>
internal sealed class ServeOptions
{
    public const int DefaultMaxMessageBytes = 64 * 1024 * 1024;

    private static readonly string[] LogLevels = ["trace", "debug", "information", "warning", "error", "critical", "none"];

    private readonly Option<string> _host = new("--host") { Description = "Address to listen on: 127.0.0.1 (this machine only), ::1, 0.0.0.0 (every interface) or localhost.", HelpName = "IP", DefaultValueFactory = _ => "127.0.0.1" };
    private readonly Option<string> _certificate = new("--tls-certificate") { Description = "Serve TLS (https) with this certificate: PEM (key in --tls-key or the same file) or .pfx/.p12.", HelpName = "F.pem|F.pfx" };
    private readonly Option<string> _key = new("--tls-key") { Description = "The PEM certificate's private key, when it is not in the certificate file.", HelpName = "K.pem" };
    private readonly Option<string> _password = new("--tls-password") { Description = "Password of the .pfx, or of an encrypted PEM key.", HelpName = "P" };
    private readonly Option<int> _maxMessage = new("--max-message-bytes") { Description = "Largest request and response message; images pass gRPC's 4 MB default.", HelpName = "N", DefaultValueFactory = _ => DefaultMaxMessageBytes };
    private readonly Option<string> _logLevel = new("--log-level") { Description = "Least severe log entry written to stderr.", HelpName = string.Join('|', LogLevels), DefaultValueFactory = _ => "information" };

    public IEnumerable<Option> All => [_host, _certificate, _key, _password, _maxMessage, _logLevel];

    public ServeSettings Bind(ParseResult parsed)
    {
        var host = ParseHost(parsed.GetValue(_host)!);
        int maxMessage = parsed.GetValue(_maxMessage);
        if (maxMessage < 1024 * 1024) throw new UsageException($"--max-message-bytes must be at least 1 MiB (1048576), got {maxMessage}.");
        string level = parsed.GetValue(_logLevel)!;
        if (!LogLevels.Contains(level)) throw new UsageException($"--log-level '{level}': choose one of {string.Join(", ", LogLevels)}.");
        var certificate = LoadCertificate(parsed.GetValue(_certificate), parsed.GetValue(_key), parsed.GetValue(_password));
        return new ServeSettings(host, certificate, maxMessage, Enum.Parse<LogLevel>(level, ignoreCase: true));
    }

    /// <summary>A port option with the service's usual port as default (0: any free port).</summary>
    public static Option<int> Port(string name, int defaultPort, string service) =>
        new(name) { Description = $"Port of the {service} (0: any free port; the bound address is printed).", HelpName = "P", DefaultValueFactory = _ => defaultPort };

    public static int CheckPort(ParseResult parsed, Option<int> option)
    {
        int port = parsed.GetValue(option);
        return port is >= 0 and <= 65535 ? port : throw new UsageException($"{option.Name} must be from 0 to 65535 (0: any free port), got {port}.");
    }

    public static void RequireFile(string option, string path)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} '{path}' is a folder, not a file.");
        if (!File.Exists(path)) throw new UsageException($"{option} '{path}': no such file.");
    }

    public static void RequireFolder(string option, string path)
    {
        if (File.Exists(path)) throw new UsageException($"{option} '{path}' is a file, not a folder.");
        if (!Directory.Exists(path)) throw new UsageException($"{option} '{path}': no such folder.");
    }

    private static IPAddress ParseHost(string host) =>
        host == "localhost" ? IPAddress.Loopback
        : IPAddress.TryParse(host, out var address) ? address
        : throw new UsageException($"--host '{host}': give an IP address to listen on (127.0.0.1, ::1, 0.0.0.0 for every interface) or localhost.");

    private static X509Certificate2? LoadCertificate(string? certificatePath, string? keyPath, string? password)
    {
        if (certificatePath is null)
        {
            return keyPath is null && password is null ? null
                : throw new UsageException($"{(keyPath is null ? "--tls-password" : "--tls-key")} goes with --tls-certificate; give the certificate too (or neither, for plain HTTP/2).");
        }
        RequireFile("--tls-certificate", certificatePath);
        if (keyPath is not null) RequireFile("--tls-key", keyPath);
        bool pkcs12 = Path.GetExtension(certificatePath).ToLowerInvariant() is ".pfx" or ".p12";
        if (pkcs12 && keyPath is not null) throw new UsageException("--tls-key goes with a PEM certificate; a .pfx/.p12 file holds its own key (give --tls-password if it has one).");
        X509Certificate2 certificate;
        try
        {
            certificate = pkcs12 ? X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password)
                : password is null ? X509Certificate2.CreateFromPemFile(certificatePath, keyPath)
                : X509Certificate2.CreateFromEncryptedPemFile(certificatePath, password, keyPath);
        }
        catch (CryptographicException e)
        {
            string files = keyPath is null ? $"'{certificatePath}'" : $"'{certificatePath}' with key '{keyPath}'";
            throw new UsageException($"--tls-certificate {files}: not a usable certificate and private key ({e.Message.TrimEnd('.')}).");
        }
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new UsageException($"--tls-certificate '{certificatePath}' holds no private key: a server needs one (give it with --tls-key K.pem).");
        }
        if (certificate.NotAfter < DateTime.Now)
        {
            var expired = certificate.NotAfter;
            certificate.Dispose();
            throw new UsageException($"--tls-certificate '{certificatePath}' expired on {expired:yyyy-MM-dd}; clients would refuse it.");
        }
        return certificate;
    }
}
