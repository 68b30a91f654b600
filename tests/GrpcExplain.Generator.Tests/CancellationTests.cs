using System.Diagnostics;
using Grpc.Core;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Tests.Generator;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcExplain.Generator.Tests;

/// <summary>
/// A call that is cancelled, or whose deadline passes, stops computing at the next slice (a
/// projection: at the next step) and frees the generator for the next call; a call waiting its turn
/// gives up at its deadline.
/// </summary>
public class CancellationTests
{
    private const int Batch = 256;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Slow enough per sample (64x64, 32 channels at every resolution) that a 256-sample batch takes far longer than a cancellation or a 300 ms deadline needs, on the faster CPU backend too (at 16 channels the batch could finish inside the deadline).</summary>
    private static readonly GeneratorConfig Slow = new(ZDim: 8, CDim: 0, WDim: 8, ImgResolution: 64, ImgChannels: 1, MappingLayers: 1, ChannelBase: 2048, ChannelMax: 32);

    private static Task<GeneratorServer> StartAsync() =>
        GeneratorServer.StartAsync(TestGenerators.Factory(TinyGenerators.Weights(Slow)), o => (o.MaxBatchSize, o.ComputeBatchSize) = (Batch, 1));

    private static SynthesizeRequest Big() => new() { Ws = TinyGenerators.Normal(new Random(1), Batch * 8).ToTensor(Batch, 8), IncludeTensor = true };

    [Fact]
    public async Task ACancelledSynthesizeStopsComputing()
    {
        await using var server = await StartAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var call = server.Client.SynthesizeAsync(Big(), cancellationToken: cancel.Token);
        await WaitUntil(() => server.Model.SamplesComputed > 0);
        await cancel.CancelAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);

        await WaitUntil(() => server.Log.Any(l => l.Contains("Synthesize stopped after", StringComparison.Ordinal)));
        long stoppedAt = server.Model.SamplesComputed;
        Assert.InRange(stoppedAt, 1, Batch - 1);
        await Task.Delay(200, Ct);
        Assert.Equal(stoppedAt, server.Model.SamplesComputed);
        await AssertTheGeneratorIsFree(server);
    }

    [Fact]
    public async Task ASynthesizePastItsDeadlineStopsComputing()
    {
        await using var server = await StartAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Client.SynthesizeAsync(Big(), deadline: DateTime.UtcNow.AddMilliseconds(300), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await WaitUntil(() => server.Log.Any(l => l.Contains("Synthesize stopped after", StringComparison.Ordinal)));
        Assert.InRange(server.Model.SamplesComputed, 0, Batch - 1);
        await AssertTheGeneratorIsFree(server);
    }

    [Fact]
    public async Task ACallWaitingForTheGeneratorGivesUpAtItsDeadline()
    {
        await using var server = await StartAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var busy = server.Client.SynthesizeAsync(Big(), cancellationToken: cancel.Token);
        await WaitUntil(() => server.Model.SamplesComputed > 0);

        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Client.SynthesizeAsync(new SynthesizeRequest { Ws = new float[8].ToTensor(1, 8), IncludeTensor = true },
            deadline: DateTime.UtcNow.AddMilliseconds(200), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the waiting call took {clock.Elapsed.TotalMilliseconds:F0} ms to give up.");
        Assert.False(busy.ResponseAsync.IsCompleted);

        await cancel.CancelAsync();
        await Assert.ThrowsAsync<RpcException>(() => busy.ResponseAsync);
        await AssertTheGeneratorIsFree(server);
    }

    private static ProjectRequest LongProjection() => new() { Image = new Image { Tensor = new float[64 * 64].ToTensor(1, 64, 64) }, NumSteps = 10_000 };

    [Fact]
    public async Task ACancelledProjectStopsBetweenSteps()
    {
        await using var server = await StartAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using var call = server.Client.Project(LongProjection(), cancellationToken: cancel.Token);
        for (int i = 1; i <= 3; i++)
        {
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            Assert.Equal(i, call.ResponseStream.Current.Progress.Step);
        }
        await cancel.CancelAsync();
        var e = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext(CancellationToken.None)) { } });
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);

        await WaitUntil(() => server.Log.Any(l => l.Contains("Project stopped after", StringComparison.Ordinal) && l.Contains("of 10000 steps", StringComparison.Ordinal)));
        long stoppedAt = server.Model.SamplesComputed;
        Assert.InRange(stoppedAt, 3, 9_999);
        await Task.Delay(200, Ct);
        Assert.Equal(stoppedAt, server.Model.SamplesComputed);
        await AssertTheGeneratorIsFree(server);
    }

    [Fact]
    public async Task AProjectPastItsDeadlineStopsBetweenSteps()
    {
        await using var server = await StartAsync();
        using var call = server.Client.Project(LongProjection(), deadline: DateTime.UtcNow.AddMilliseconds(500), cancellationToken: Ct);
        int progress = 0;
        var e = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext(Ct)) progress++; });
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await WaitUntil(() => server.Log.Any(l => l.Contains("Project stopped after", StringComparison.Ordinal)));
        Assert.InRange(server.Model.SamplesComputed, progress, 9_999);
        await AssertTheGeneratorIsFree(server);
    }

    /// <summary>
    /// A progress write that races the deadline fails with InvalidOperationException from grpc-dotnet
    /// (not a cancellation); the handler stops the steps and ends as cancelled, which grpc-dotnet logs
    /// as information, not as an error of the service.
    /// </summary>
    [Fact]
    public async Task AProgressWriteThatRacesTheEndOfTheCallEndsItAsCancelled()
    {
        await using var server = await StartAsync();
        using var call = new EndingCallContext("/grpcexplain.v1.GeneratorService/Project");
        var writer = new RacingWriter(call);
        var service = ActivatorUtilities.CreateInstance<GeneratorGrpcService>(server.Services);
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => service.Project(LongProjection(), writer, call));
        Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.Equal(1, writer.Writes);
        await WaitUntil(() => server.Log.Any(l => l.Contains("Project stopped after", StringComparison.Ordinal)));
        await AssertTheGeneratorIsFree(server);
    }

    /// <summary>Its first write ends the call and fails as a write that raced the completed response does.</summary>
    private sealed class RacingWriter(EndingCallContext call) : IServerStreamWriter<ProjectResponse>
    {
        public int Writes { get; private set; }
        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(ProjectResponse message)
        {
            Writes++;
            call.End();
            return Task.FromException(EndingCallContext.RacedWrite());
        }

        public Task WriteAsync(ProjectResponse message, CancellationToken cancellationToken) => WriteAsync(message);
    }

    /// <summary>The generator serves the next call at once, and nothing was logged as a failure.</summary>
    private static async Task AssertTheGeneratorIsFree(GeneratorServer server)
    {
        var failures = server.Log.Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 0, "logged as failures:\n" + string.Join("\n", failures));
        var response = await server.Client.SynthesizeAsync(new SynthesizeRequest { Ws = new float[8].ToTensor(1, 8), IncludeTensor = true },
            deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Ct);
        Assert.Equal([1L, 1, 64, 64], response.Images.Shape);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "timed out waiting");
            await Task.Delay(5, Ct);
        }
    }
}
