using GrpcExplain.Kernels;
using System.Text.RegularExpressions;
using GrpcExplain.Cli.IO;
using GrpcExplain.Kernels.Ilgpu;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Cli.Tests.Synthesize;

/// <summary>Files the error table refers to, made once: two valid generators, broken weights and latents.</summary>
public sealed class ErrorFiles : IDisposable
{
    public ErrorFiles()
    {
        Dir = Directory.CreateTempSubdirectory("cli-errors-").FullName;
        TinyGenerators.Save(TinyGenerators.Grey, P("$GREY"));
        TinyGenerators.Save(TinyGenerators.ConditionalRgb, P("$COND"));
        var broken = TinyGenerators.RandomTensors(TinyGenerators.Grey);
        broken.Remove("synthesis.b8.conv0.noise_strength");
        SafeTensors.Write(P("$BROKEN"), broken, TinyGenerators.Grey.ToMetadata());
        File.WriteAllText(P("$GARBAGE"), "this is not a safetensors file");
        Npy.Write(P("$Z"), new HostTensor([2, 8], new float[16]));
        Npy.Write(P("$Z7"), new HostTensor([2, 7], new float[14]));
        Npy.Write(P("$WPLUS"), new HostTensor([2, 4, 8], new float[64]));
        Npy.Write(P("$WPLUS3"), new HostTensor([2, 3, 8], new float[48]));
        Npy.Write(P("$W5"), new HostTensor([2, 5], new float[10]));
        Npy.Write(P("$EMPTY"), new HostTensor([0, 8], []));
        Npy.Write(P("$NAN"), new HostTensor([2, 8], [.. new float[12], float.NaN, 0, 0, 0]));
        Npy.Write(P("$RANK1"), new HostTensor([8], new float[8]));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "f8_2x3.npy"), P("$F8"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "f4_fortran.npy"), P("$FORTRAN"));
        File.WriteAllText(P("$NOTNPY"), "x,y\n1,2\n");
        File.WriteAllBytes(P("$TRUNCATED"), File.ReadAllBytes(P("$Z"))[..^3]);
        File.WriteAllText(P("$FILE"), "a file where a folder should be");
    }

    public string Dir { get; }

    /// <summary>$NAME in an argument → a file in the fixture folder ($DIR is the folder itself, $OUT a fresh output folder per run).</summary>
    public string P(string token) => Path.Combine(Dir, token.TrimStart('$').ToLowerInvariant());

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

/// <summary>
/// Every wrong command line gets one clear message on stderr and exit code 2; every file or run-time
/// failure exit code 1; never a stack trace, never output on stdout, never a half-written file.
/// </summary>
public sealed class SynthesizeErrorTests(ErrorFiles files) : IClassFixture<ErrorFiles>
{
    private const string Grey = "synthesize --weights $GREY --out $OUT";

    [Theory]
    // The command line itself (exit 2).
    [InlineData("", 2, "Required command was not provided")]
    [InlineData("explode", 2, "Unrecognized command or argument 'explode'")]
    [InlineData("synthesize --seeds 0 --out $OUT", 2, "Option '--weights' is required")]
    [InlineData("synthesize --weights $GREY --seeds 0", 2, "Option '--out' is required")]
    [InlineData(Grey, 2, "give either --latents L.npy or --seeds LIST")]
    [InlineData(Grey + " --seeds 0 --latents $Z", 2, "give either --latents L.npy or --seeds LIST")]
    [InlineData(Grey + " --seeds 7-3", 2, "--seeds '7-3': the range 7-3 runs backwards")]
    [InlineData(Grey + " --seeds 1,x", 2, "'x' is not a seed")]
    [InlineData(Grey + " --seeds -1", 2, "'-1' is not a seed")]
    [InlineData(Grey + " --seeds 0 --backend tpu", 2, "--backend 'tpu': choose one of auto, cpu, cuda, ilgpu-cpu")]
    [InlineData(Grey + " --seeds 0 --noise-mode loud", 2, "--noise-mode 'loud': choose const, random or none")]
    [InlineData(Grey + " --seeds 0 --latent-space x", 2, "--latent-space 'x': choose z or w")]
    [InlineData(Grey + " --seeds 0 --latent-space w", 2, "--seeds draws z latents")]
    [InlineData(Grey + " --seeds 0 --truncation nan", 2, "--truncation must be a finite number, got NaN")]
    [InlineData(Grey + " --seeds 0 --truncation Infinity", 2, "--truncation must be a finite number")]
    [InlineData(Grey + " --seeds 0 --truncation abc", 2, "Cannot parse argument 'abc' for option '--truncation'")]
    [InlineData(Grey + " --seeds 0 --truncation-cutoff -2", 2, "--truncation-cutoff must be 0 or more")]
    [InlineData(Grey + " --seeds 0 --batch-size 0", 2, "--batch-size must be at least 1")]
    [InlineData(Grey + " --seeds 0 --class -1", 2, "--class must be 0 or more")]
    [InlineData(Grey + " --seeds 0 --unknown", 2, "Unrecognized command or argument '--unknown'")]
    [InlineData("synthesize --weights $MISSING --out $OUT --seeds 0", 2, "--weights '$MISSING': no such file")]
    [InlineData("synthesize --weights $DIR --out $OUT --seeds 0", 2, "--weights '$DIR' is a folder, not a file")]
    [InlineData(Grey + " --latents $MISSING", 2, "--latents '$MISSING': no such file")]
    // Arguments that only this generator makes wrong (exit 2).
    [InlineData(Grey + " --seeds 0 --class 1", 2, "this generator is unconditional (c_dim 0); leave --class out")]
    [InlineData("synthesize --weights $COND --out $OUT --seeds 0", 2, "this generator is conditional (c_dim 3): choose a class with --class C (0 to 2)")]
    [InlineData("synthesize --weights $COND --out $OUT --seeds 0 --class 3", 2, "--class 3: this generator has classes 0 to 2")]
    [InlineData("synthesize --weights $COND --out $OUT --latents $W5 --latent-space w --class 1", 2, "--class has no effect on w latents")]
    // Files that are wrong (exit 1).
    [InlineData("synthesize --weights $BROKEN --out $OUT --seeds 0", 1, "missing tensor 'synthesis.b8.conv0.noise_strength'")]
    [InlineData("synthesize --weights $GARBAGE --out $OUT --seeds 0", 1, "$GARBAGE")]
    [InlineData(Grey + " --latents $Z7", 1, "latents of shape [2, 7] do not fit this generator; expected [N, 8] (z, z_dim 8)")]
    [InlineData(Grey + " --latents $Z7 --latent-space w", 1, "latents of shape [2, 7] do not fit this generator; expected [N, 8] (w, w_dim 8)")]
    [InlineData(Grey + " --latents $WPLUS3", 1, "latents of shape [2, 3, 8] do not fit this generator; expected [N, 4, 8] (W+, num_ws 4)")]
    [InlineData(Grey + " --latents $WPLUS --latent-space z", 1, "are W+, which is w space: leave out --latent-space z")]
    [InlineData(Grey + " --latents $RANK1", 1, "latents of shape [8] do not fit this generator")]
    [InlineData("synthesize --weights $COND --out $OUT --latents $W5", 1, "expected [N, 6] (z, z_dim 6); for w latents add --latent-space w")]
    [InlineData(Grey + " --latents $EMPTY", 1, "holds no latents (shape [0, 8])")]
    [InlineData(Grey + " --latents $NAN", 1, "latent 1 holds a non-finite value (NaN)")]
    [InlineData(Grey + " --latents $F8", 1, "dtype '<f8' (little-endian float64) is not supported")]
    [InlineData(Grey + " --latents $FORTRAN", 1, "Fortran order")]
    [InlineData(Grey + " --latents $NOTNPY", 1, "not a NumPy .npy file")]
    [InlineData(Grey + " --latents $TRUNCATED", 1, "truncated: shape [2, 8] needs 64 bytes of float32 data, the file has 61")]
    [InlineData("synthesize --weights $GREY --out $FILE --seeds 0", 1, "--out '$FILE' is a file")]
    public void WrongArgumentsGetOneClearMessage(string commandLine, int exitCode, string message)
    {
        string output = Path.Combine(files.Dir, $"out-{Guid.NewGuid():N}");
        string Expand(string s) => Regex.Replace(s, @"\$[A-Z0-9]+", m => m.Value switch { "$OUT" => output, "$DIR" => files.Dir, var t => files.P(t) });
        string[] args = commandLine.Length == 0 ? [] : Expand(commandLine).Split(' ');

        var result = CliHarness.Run(args);

        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.Contains(Expand(message), result.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("grpcexplain: ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.True(result.Stderr.TrimEnd().Split('\n').Length <= 3, result.ToString());
        Assert.Equal("", result.Stdout);
        if (Directory.Exists(output)) Assert.Empty(Directory.GetFiles(output));
    }

    [Fact]
    public void CudaWithoutAGpuIsARunTimeFailure()
    {
        Assert.SkipWhen(IlgpuBackend.IsCudaAvailable(), "this machine has a CUDA device");
        var result = CliHarness.Run("synthesize", "--weights", files.P("$GREY"), "--out", Path.Combine(files.Dir, "cuda"), "--seeds", "0", "--backend", "cuda");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("no CUDA device was found", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpIsNotAnError()
    {
        var result = CliHarness.Run("synthesize", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--truncation-cutoff", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("", result.Stderr);
    }
}
