namespace GrpcExplain.Cli.Tests.Train;

/// <summary>Every wrong command line: one message on stderr naming what to change, exit code 2, nothing trained.</summary>
public sealed class TrainGanErrorTests(TrainGanData data) : IClassFixture<TrainGanData>
{
    [Theory]
    [InlineData("train gan --data $DATA", "Option '--out' is required")]
    [InlineData("train gan --out $RUN", "--data is required to start a run")]
    [InlineData("train gan --out $RUN --resume", "--resume: ")]
    [InlineData("train gan --data $DIR/missing --out $RUN", "--data '$DIR/missing': no such folder or file")]
    [InlineData("train gan --data $DIR/notes.txt --out $RUN", "is a file but not a .npz")]
    [InlineData("train gan --data $DATA --out $DIR/notes.txt", "--out '$DIR/notes.txt' is a file")]
    [InlineData("train gan --data $DATA --out $RUN --resolution 48", "--resolution must be a power of two from 8 to 1024, got 48")]
    [InlineData("train gan --data $DATA --out $RUN --channels 2", "--channels must be 1 (grey) or 3 (RGB), got 2")]
    [InlineData("train gan --data $DATA --out $RUN --fit stretch", "--fit 'stretch': choose crop or resize")]
    [InlineData("train gan --data $DATA --out $RUN --batch 1", "--batch must be at least 2, got 1")]
    [InlineData("train gan --data $DATA --out $RUN --kimg 0", "--kimg must be a positive number, got 0")]
    [InlineData("train gan --data $DATA --out $RUN --kimg -3", "--kimg must be a positive number, got -3")]
    [InlineData("train gan --data $DATA --out $RUN --snapshot-kimg 0", "--snapshot-kimg must be a positive number")]
    [InlineData("train gan --data $DATA --out $RUN --mapping-layers 9", "--mapping-layers must be 1 to 8, got 9")]
    [InlineData("train gan --data $DATA --out $RUN --gamma -1", "--gamma must be 0 or more, got -1")]
    [InlineData("train gan --data $DATA --out $RUN --fid-images 1", "--fid-images must be 0 (skip) or at least 2, got 1")]
    [InlineData("train gan --data $DATA --out $RUN --channel-base 4 --resolution 8", "channel_base (4) must be at least the resolution (8)")]
    [InlineData("train gan --data $DATA --out $RUN --backend tpu", "--backend 'tpu': choose one of auto, cpu, cuda, ilgpu-cpu")]
    [InlineData("train gan --data $DATA --out $RUN --batch many", "many")]
    [InlineData("train gan --data $DATA --out $RUN --warm-start $DIR/missing.safetensors", "--warm-start '$DIR/missing.safetensors': no such file")]
    [InlineData("train gan --data $DATA --out $RUN --warm-start $DIR/notes.txt", "--warm-start: ")]
    [InlineData("train gan --data $DATA --out $RUN --d-warmup-kimg -1", "--d-warmup-kimg must be 0 or more, got -1")]
    [InlineData("train gan --data $DATA --out $RUN --g-lr-rampup-kimg -2", "--g-lr-rampup-kimg must be 0 or more, got -2")]
    public void BadArgumentsGetAMessageAndExitCode2(string line, string message)
    {
        string run = data.NewRun();
        string Expand(string s) => s.Replace("$DATA", data.Data, StringComparison.Ordinal).Replace("$DIR", data.Dir, StringComparison.Ordinal).Replace("$RUN", run, StringComparison.Ordinal);
        var result = CliHarness.Run(Expand(line).Split(' '));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(Expand(message), result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
    }

    /// <summary>A checkpoint of one configuration is never continued as another: each differing setting is named.</summary>
    [Fact]
    public void ResumingWithAnotherConfigurationIsRefusedNamingTheDifference()
    {
        string run = data.NewRun();
        var first = CliHarness.Run(data.Tiny(run, "--kimg", "0.008", "--fid-images", "0"));
        Assert.True(first.ExitCode == 0, first.ToString());

        var result = CliHarness.Run(data.Tiny(run, "--kimg", "0.016", "--gamma", "2", "--seed", "3"));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("gamma: the checkpoint has 0.0032, this run asks for 2", result.Stderr, StringComparison.Ordinal); // 0.0002·8²/4 by default
        Assert.Contains("seed: the checkpoint has 0, this run asks for 3", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("\"step\": 2,", File.ReadAllText(Path.Combine(run, "state.json")), StringComparison.Ordinal);
    }

    /// <summary>A warm start from a generator of another architecture names both; nothing is trained.</summary>
    [Fact]
    public void AWarmStartOfAnotherArchitectureIsRefused()
    {
        string run = data.NewRun();
        var result = CliHarness.Run(data.Tiny(run, "--kimg", "0.008", "--fid-images", "0", "--warm-start", data.TrainedGenerator(channelMax: 16)));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("another architecture", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("channel_max 16", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
    }
}
