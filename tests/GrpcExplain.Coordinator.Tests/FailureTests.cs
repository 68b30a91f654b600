using Grpc.Core;
using GrpcExplain.Protos.V1;
using Case = GrpcExplain.Protos.V1.ExplainResponse.EventOneofCase;

namespace GrpcExplain.Coordinator.Tests;

/// <summary>
/// A stream held at its third frame (the generator's third Synthesize of the walk, after two frames
/// have been sent), then cancelled, or one of the services killed under it.
/// </summary>
public class FailureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Fits the probe first (so the walk is the only work left), holds the walk's third synthesis, and reads the two frames before it.</summary>
    private static async Task<(AsyncServerStreamingCall<ExplainResponse> Call, HeldCall Held)> HoldAtThirdFrameAsync(Deployment deployment, CancellationToken cancellation)
    {
        await FitDirectionTests.FitAsync(deployment);
        var held = new HeldCall();
        deployment.GeneratorGate.Arm(3, deployment.GeneratorGate.Hold(held));
        var call = deployment.Client.Explain(ExplainTests.Request(deployment), cancellationToken: cancellation);
        int frames = 0;
        while (frames < 2)
        {
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            if (call.ResponseStream.Current.EventCase == Case.Frame) frames++;
        }
        await held.Started.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        return (call, held);
    }

    [Fact]
    public async Task CancellingTheStreamStopsTheWorkAtOnce()
    {
        await using var deployment = await Deployment.StartAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var (call, held) = await HoldAtThirdFrameAsync(deployment, cancel.Token);
        using (call)
        {
            await cancel.CancelAsync();
            var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.Cancelled, e.StatusCode);
            // The coordinator cancels its own call to the generator: the held Synthesize sees it.
            await held.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
            // Nothing more starts: no frame is synthesised, and the occlusion map (which runs beside the walk) stops calling the classifier.
            await Task.Delay(100, Ct);
            int classified = deployment.ClassifierGate.Calls;
            await Task.Delay(300, Ct);
            Assert.Equal(3, deployment.GeneratorGate.Calls);
            Assert.Equal(classified, deployment.ClassifierGate.Calls);
        }
    }

    [Theory]
    [InlineData("classifier")]
    [InlineData("generator")]
    public async Task AServiceKilledMidStreamEndsItWithUnavailableNamingTheService(string killed)
    {
        await using var deployment = await Deployment.StartAsync();
        var (call, _) = await HoldAtThirdFrameAsync(deployment, Ct);
        using (call)
        {
            await Deployment.KillAsync(killed == "classifier" ? deployment.Classifier : deployment.Generator);
            // A killed classifier fails the held frame's classification once its synthesis goes on; a killed generator fails the held synthesis itself.
            deployment.GeneratorGate.Release();
            var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.Contains(killed == "classifier" ? $"classifier '{Deployment.Model}' at {deployment.Classifier.Address}" : $"generator at {deployment.Generator.Address} failed in Synthesize",
                e.Status.Detail, StringComparison.Ordinal);
        }
    }
}
