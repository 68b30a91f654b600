using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using GrpcExplain.Inference;
using GrpcExplain.Protos.V1;

namespace GrpcExplain.EndToEnd.Tests;

/// <summary>
/// tools/polyglot/client.py, a Python client whose stubs are generated from our protos during the
/// run, against <c>serve all</c>: what it got must be what C# computes. Without a Python that can
/// run it the test is skipped, saying what to install, unless GRPCEXPLAIN_REQUIRE_POLYGLOT=1 (CI)
/// makes that a failure.
/// </summary>
public class PolyglotTests(ServeAll serve)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task APythonClientGeneratedFromTheProtosGetsWhatCSharpComputes()
    {
        string python = await FindPythonAsync();
        var run = await RunAsync(python, Client, "--generator", serve.Address("generator").ToString(), "--classifier", serve.Address("classifier").ToString(),
            "--coordinator", serve.Address("coordinator").ToString(), "--model", "tiny_cnn", "--samples", "2");
        Assert.True(run.Exit == 0, $"client.py failed:\n{run.Stderr}");
        var summary = JsonDocument.Parse(run.Stdout).RootElement;

        foreach (string service in new[] { "generator", "classifier", "coordinator" })
            Assert.Equal("SERVING", summary.GetProperty("health").GetProperty(service).GetString());

        var info = await serve.GeneratorClient.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: Ct);
        var generator = summary.GetProperty("generator");
        Assert.Equal(info.WeightsSha256, generator.GetProperty("model_info").GetProperty("weights_sha256").GetString());
        Assert.Equal((info.WDim, info.NumWs, info.ImageResolutionPixels), (Int(generator, "model_info", "w_dim"), Int(generator, "model_info", "num_ws"), Int(generator, "model_info", "image_resolution_pixels")));
        var synthesize = generator.GetProperty("synthesize");
        var ws = Bytes(synthesize, "ws").Floats();
        Assert.Equal(Reference.Synthesize(ws, 2), Bytes(synthesize, "images").Floats());
        Assert.Equal(2, synthesize.GetProperty("png_count").GetInt32());

        var classifier = summary.GetProperty("classifier");
        var metadata = await serve.ClassifierClient.ModelMetadataAsync(new ModelMetadataRequest { Name = "tiny_cnn" }, cancellationToken: Ct);
        var pythonMetadata = classifier.GetProperty("metadata");
        Assert.Equal((metadata.Name, metadata.Platform), (pythonMetadata.GetProperty("name").GetString(), pythonMetadata.GetProperty("platform").GetString()));
        Assert.Equal(metadata.Inputs.Select(t => $"{t.Name} {t.Datatype} [{string.Join(", ", t.Shape)}]"),
            pythonMetadata.GetProperty("inputs").EnumerateArray().Select(t => $"{t.GetProperty("name")} {t.GetProperty("datatype")} [{string.Join(", ", t.GetProperty("shape").EnumerateArray())}]"));
        var infer = classifier.GetProperty("infer");
        int[] shape = [.. infer.GetProperty("input_shape").EnumerateArray().Select(d => d.GetInt32())];
        var expected = Reference.OnnxRuntime("tiny_cnn", infer.GetProperty("input_name").GetString()!, shape, Bytes(infer, "input").Floats());
        foreach (var output in infer.GetProperty("outputs").EnumerateObject())
            Assert.Equal(expected[output.Name], Bytes(output.Value, "data").Floats());
        Assert.Equal(expected.Keys.Order(), infer.GetProperty("outputs").EnumerateObject().Select(o => o.Name).Order());
    }

    private static string Client => Path.Combine(RepositoryRoot(), "tools", "polyglot", "client.py");

    private static int Int(JsonElement e, string a, string b) => e.GetProperty(a).GetProperty(b).GetInt32();

    private static ByteString Bytes(JsonElement e, string name) => ByteString.FromBase64(e.GetProperty(name).GetString());

    /// <summary>The first interpreter that can run the client (client.py --check), or a skip (a failure in CI) naming what is missing.</summary>
    private static async Task<string> FindPythonAsync()
    {
        var reasons = new List<string>();
        string? chosen = Environment.GetEnvironmentVariable("GRPCEXPLAIN_PYTHON");
        string[] candidates = chosen is null ? ["python3", "/usr/bin/python3"] : [chosen];
        foreach (string python in candidates)
        {
            try
            {
                var check = await RunAsync(python, Client, "--check");
                if (check.Exit == 0) return python;
                reasons.Add(check.Stderr.Trim());
            }
            catch (Win32Exception e)
            {
                reasons.Add($"{python}: {e.Message}");
            }
        }
        string why = "No Python here can run tools/polyglot/client.py: " + string.Join(" | ", reasons) +
            " On Debian: apt-get install python3-grpcio protobuf-compiler protobuf-compiler-grpc.";
        if (Environment.GetEnvironmentVariable("GRPCEXPLAIN_REQUIRE_POLYGLOT") == "1") Assert.Fail(why + " (GRPCEXPLAIN_REQUIRE_POLYGLOT=1 makes this a failure.)");
        Assert.Skip(why);
        return "";
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(Ct), process.StandardError.ReadToEndAsync(Ct));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tools", "polyglot", "client.py"))) return dir.FullName;
        throw new InvalidOperationException($"No tools/polyglot/client.py above {AppContext.BaseDirectory}.");
    }
}
