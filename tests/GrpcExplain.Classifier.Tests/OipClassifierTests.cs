using Grpc.Core;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Tests;

namespace GrpcExplain.Classifier.Tests;

/// <summary>The remote classifier (the coordinator's view) against our Open Inference Protocol service.</summary>
public class OipClassifierTests
{
    [Theory]
    [InlineData("tiny_cnn", true)]
    [InlineData("tiny_cnn", false)]
    [InlineData("tiny_cnn_u8", true)]
    [InlineData("tiny_cnn_u8", false)]
    public async Task ProbabilitiesOverTheWireMatchPyTorch(string model, bool raw)
    {
        await using var host = await TestClassifierHost.StartAsync();
        var c = Fixtures.Case(model);
        using var classifier = await OipClassifier.ConnectAsync(host.Channel, model, null, Fixtures.Config(model),
            new OipClassifierOptions { RawContents = raw }, TestContext.Current.CancellationToken);
        Assert.Equal(new ClassifierDescription(model, "1", c.ImagesShape[1], 32, 32, classifier.Description.ClassLabels), classifier.Description);
        // tiny_cnn's 3 images go as two calls (max_batch_size 2).
        var predictions = await classifier.ClassifyAsync(c.Batch, TestContext.Current.CancellationToken);
        Close.All(c.Probabilities, predictions.Probabilities);
    }

    [Fact]
    public async Task LocalAndRemoteClassifiersAgreeExactly()
    {
        await using var host = await TestClassifierHost.StartAsync();
        var batch = Fixtures.Case("tiny_cnn").Batch;
        using var local = OnnxClassifier.Open(Fixtures.Repository, "tiny_cnn", options: Fixtures.Cpu);
        using var remote = await OipClassifier.ConnectAsync(host.Channel, "tiny_cnn", "1", Fixtures.Config("tiny_cnn"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal((await local.ClassifyAsync(batch, TestContext.Current.CancellationToken)).Probabilities,
            (await remote.ClassifyAsync(batch, TestContext.Current.CancellationToken)).Probabilities);
    }

    [Fact]
    public async Task AConfigThatDoesNotFitTheServedModelIsRefusedAtConnect()
    {
        await using var host = await TestClassifierHost.StartAsync();
        var wrong = Fixtures.Config("tiny_cnn") with { ClassLabels = ["a", "b", "c"] };
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            OipClassifier.ConnectAsync(host.Channel, "tiny_cnn", null, wrong, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("output 'logits' has 2 scores per image, which Softmax does not turn into 3 class probabilities", e.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<RpcException>(() =>
            OipClassifier.ConnectAsync(host.Channel, "resnet", null, wrong, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task CancellationReachesTheCaller()
    {
        await using var host = await TestClassifierHost.StartAsync();
        using var remote = await OipClassifier.ConnectAsync(host.Channel, "tiny_cnn", null, Fixtures.Config("tiny_cnn"), cancellationToken: TestContext.Current.CancellationToken);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => remote.ClassifyAsync(Fixtures.Case("tiny_cnn").Batch, cts.Token));
    }

    [Fact]
    public async Task ItsOwnChannelToAKestrelPortOnLoopback()
    {
        // A real socket once: Kestrel on 127.0.0.1, port chosen by the system.
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddClassifierService(o =>
        {
            o.ModelRepository = Fixtures.Repository;
            o.ExecutionProvider = Classifiers.Onnx.ExecutionProvider.Cpu;
            o.Models.Add("tiny_cnn");
        });
        await using var app = builder.Build();
        app.MapClassifierService();
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = new Uri(app.Urls.First());
        var c = Fixtures.Case("tiny_cnn");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var remote = await OipClassifier.ConnectAsync(address, "tiny_cnn", null, Fixtures.Config("tiny_cnn"), cancellationToken: TestContext.Current.CancellationToken);
                Close.All(c.Probabilities, (await remote.ClassifyAsync(c.Batch, TestContext.Current.CancellationToken)).Probabilities);
                break;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken); // models still loading
            }
        }
        await app.StopAsync(TestContext.Current.CancellationToken);
    }
}
