using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Classifiers.Tests;
using GrpcExplain.Inference;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Classifier.Tests;

/// <summary>What every service of ours has: health, reflection, message limits, compression, deadlines, careful logs.</summary>
public class HostingTests
{
    private static ModelInferRequest Images(int n, float value = 0.25f) =>
        OipTensors.Request("tiny_cnn", "", [Tensor.Fp32("image", [n, 3, 32, 32], Enumerable.Repeat(value, n * 3072).ToArray())], [], raw: true);

    [Fact]
    public async Task HealthIsNotServingUntilTheModelsAreLoaded()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestClassifierHost.StartAsync(o => o.BeforeLoad = ct => gate.Task.WaitAsync(ct), waitUntilReady: false);
        var ct = TestContext.Current.CancellationToken;
        var health = new Health.HealthClient(host.Channel);
        foreach (string service in new[] { "", "inference.GRPCInferenceService" })
        {
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest { Service = service }, cancellationToken: ct)).Status);
        }
        Assert.True((await host.Client.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: ct)).Live);
        Assert.False((await host.Client.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: ct)).Ready);
        Assert.False((await host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "tiny_cnn" }, cancellationToken: ct)).Ready);
        var loading = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(Images(1), cancellationToken: ct).ResponseAsync);
        Assert.Equal((StatusCode.Unavailable, "The classifier is still loading its models."), (loading.StatusCode, loading.Status.Detail));

        gate.SetResult();
        await host.WaitUntilReadyAsync();
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "inference.GRPCInferenceService" }, cancellationToken: ct)).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: ct)).Status);
    }

    [Fact]
    public async Task AModelThatFailsToLoadKeepsTheServiceNotServingWithTheReason()
    {
        using var temp = new TempFolder();
        string root = Fixtures.CopyRepository(temp.Path);
        File.WriteAllText(Path.Combine(root, "tiny_cnn", "1", "model.onnx"), "truncated");
        await using var host = await TestClassifierHost.StartAsync(o => o.ModelRepository = root, waitUntilReady: false);
        var ct = TestContext.Current.CancellationToken;
        var health = new Health.HealthClient(host.Channel);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!host.Logs.Lines.Any(l => l.Contains("Classifier not ready", StringComparison.Ordinal) || l.Contains("Model tiny_cnn not loaded", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline);
            await Task.Delay(10, ct);
        }
        await Task.Delay(50, ct);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: ct)).Status);
        Assert.False((await host.Client.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: ct)).Ready);
        // The models that did load still answer; the broken one is NOT_FOUND with its reason.
        Assert.True((await host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "tiny_cnn_u8" }, cancellationToken: ct)).Ready);
        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(Images(1), cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("it failed to load: ", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReflectionListsTheServices()
    {
        await using var host = await TestClassifierHost.StartAsync();
        var reflection = new ServerReflection.ServerReflectionClient(host.Channel);
        using var call = reflection.ServerReflectionInfo(cancellationToken: TestContext.Current.CancellationToken);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, TestContext.Current.CancellationToken);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("inference.GRPCInferenceService", names);
        Assert.Contains("grpc.health.v1.Health", names);
    }

    [Fact]
    public async Task GzipWhenTheClientAcceptsItAndNotOtherwise()
    {
        await using var host = await TestClassifierHost.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        await host.Client.ModelInferAsync(Images(1), cancellationToken: ct);
        Assert.Equal("gzip", host.Spy.LastResponseEncoding);
        host.Spy.AcceptEncoding = "identity";
        var response = await host.Client.ModelInferAsync(Images(1), cancellationToken: ct);
        Assert.Null(host.Spy.LastResponseEncoding);
        Assert.Equal([1L, 2], response.Outputs[0].Shape);
    }

    [Fact]
    public async Task MessagesPastFourMegabytesPassAndTheLimitIsEnforced()
    {
        var ct = TestContext.Current.CancellationToken;
        // 5 MB of request parameters ride along with a valid request (the service ignores parameters).
        var big = Images(1);
        big.Parameters.Add("padding", new InferParameter { StringParam = new string('x', 5 * 1024 * 1024) });
        await using (var host = await TestClassifierHost.StartAsync())
        {
            Assert.Equal([1L, 2], (await host.Client.ModelInferAsync(big, cancellationToken: ct)).Outputs[0].Shape);
        }
        await using (var host = await TestClassifierHost.StartAsync(o => o.MaxMessageSizeBytes = 1024 * 1024))
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(big, cancellationToken: ct).ResponseAsync);
            Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
            Assert.Equal([1L, 2], (await host.Client.ModelInferAsync(Images(1), cancellationToken: ct)).Outputs[0].Shape);
        }
    }

    [Fact]
    public async Task APassedDeadlineEndsTheCall()
    {
        await using var host = await TestClassifierHost.StartAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.ModelInferAsync(Images(2), deadline: DateTime.UtcNow.AddMilliseconds(-1), cancellationToken: TestContext.Current.CancellationToken).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
    }

    [Fact]
    public async Task ACancelledCallStopsInTheService()
    {
        // The service's own path, with a call context whose client has gone: no run starts.
        await using var host = await TestClassifierHost.StartAsync();
        var service = host.Create<InferenceService>();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => service.ModelInfer(Images(1), new FakeCallContext(cts.Token)));
    }

    [Fact]
    public async Task LogsSaySizesAndTimesButNoContentsOrRequestIds()
    {
        await using var host = await TestClassifierHost.StartAsync();
        var request = Images(2, value: 0.123456f);
        request.Id = "patient-4711";
        await host.Client.ModelInferAsync(request, cancellationToken: TestContext.Current.CancellationToken);
        var line = Assert.Single(host.Logs.Lines, l => l.Contains("ModelInfer tiny_cnn v1: batch 2", StringComparison.Ordinal));
        Assert.Contains("Provider=CPU", line, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains("patient-4711", StringComparison.Ordinal) || l.Contains("0.123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AMissingRepositorySettingStopsTheHostAtStart()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => TestClassifierHost.StartAsync(o => o.ModelRepository = null));
        Assert.Contains("Classifier:ModelRepository is not set", e.Message, StringComparison.Ordinal);
    }
}
