using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using GrpcExplain.Protos.V1;

namespace GrpcExplain.Coordinator.Tests;

public class RequestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly (string What, string Field)[] BadRequests =
    [
        ("no image", "image"),
        ("a tensor of the wrong size", "image.tensor.shape"),
        ("a PNG that is not one", "image.encoded.data"),
        ("a PNG too small for the central crop", "image.encoded"),
        ("an image fit that is not one", "image_fit"),
        ("a PNG of more pixels than the coordinator decodes", "image.encoded.data"),
        ("a class the classifier does not have", "target_class"),
        ("one frame", "num_frames"),
        ("an empty alpha range", "alpha_range"),
        ("a probability above 1", "until_probability.target_probability"),
        ("the gradient of a black box", "direction_method"),
        ("too many projection steps", "encoding.num_steps"),
        ("a direction id with another method", "direction_id"),
        ("no classifier name", "classifier_model.name"),
    ];

    private static ExplainRequest Bad(Deployment deployment, string what)
    {
        var r = ExplainTests.Request(deployment);
        switch (what)
        {
            case "no image": r.Image = null; break;
            case "a tensor of the wrong size": r.Image = new Image { Tensor = Tensors.Proto(new float[16 * 16], 1, 16, 16) }; break;
            case "a PNG that is not one": r.Image.Encoded.Data = Google.Protobuf.ByteString.CopyFromUtf8("not a png"); break;
            case "a PNG too small for the central crop": r.Image.Encoded.Data = Google.Protobuf.ByteString.CopyFrom(SmallPng()); r.ImageFit = ImageFit.CenterCrop; break;
            case "an image fit that is not one": r.ImageFit = (ImageFit)7; break;
            case "a PNG of more pixels than the coordinator decodes": r.Image.Encoded.Data = Google.Protobuf.ByteString.CopyFrom(Png(4097, 4096)); break;
            case "a class the classifier does not have": r.TargetClass = 2; break;
            case "one frame": r.NumFrames = 1; break;
            case "an empty alpha range": r.AlphaRange = new AlphaRange { AlphaStart = 1, AlphaEnd = 1 }; break;
            case "a probability above 1": r.UntilProbability = new TargetProbability { TargetProbability_ = 1.5f, MaxAbsAlpha = 3 }; break;
            case "the gradient of a black box": r.DirectionMethod = DirectionMethod.Gradient; break;
            case "too many projection steps": r.Encoding = new EncodingOptions { NumSteps = 1_000_000 }; break;
            case "a direction id with another method": r.DirectionMethod = DirectionMethod.BlackBoxGradientEstimate; r.DirectionId = "abc"; break;
            case "no classifier name": r.ClassifierModel.Name = ""; break;
        }
        return r;
    }

    private static byte[] SmallPng() => Png(DirectionModel.Resolution - 8, DirectionModel.Resolution);

    private static byte[] Png(int width, int height)
    {
        using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(width, height);
        using var stream = new MemoryStream();
        image.Save(stream, new SixLabors.ImageSharp.Formats.Png.PngEncoder());
        return stream.ToArray();
    }

    [Fact]
    public async Task BadRequestsAreInvalidArgumentNamingTheFieldAndTheServiceKeepsServing()
    {
        await using var deployment = await Deployment.StartAsync();
        // Building the test's classifier synthesised through the same generator; bad requests add none.
        int synthesized = deployment.GeneratorGate.Calls;
        foreach (var (what, field) in BadRequests)
        {
            using var call = deployment.Client.Explain(Bad(deployment, what), cancellationToken: Ct);
            var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(Ct));
            Assert.True(e.StatusCode == StatusCode.InvalidArgument, $"{what}: {e.StatusCode} {e.Status.Detail}");
            var details = e.GetRpcStatus()?.GetDetail<BadRequest>();
            Assert.NotNull(details);
            Assert.True(details.FieldViolations.Any(v => v.Field == field), $"{what}: violations {string.Join("; ", details.FieldViolations.Select(v => $"{v.Field}: {v.Description}"))}");
        }
        Assert.Equal(synthesized, deployment.GeneratorGate.Calls);

        using var unknownModel = deployment.Client.Explain(new ExplainRequest(ExplainTests.Request(deployment)) { ClassifierModel = new ClassifierModel { Name = "no_such_model" } }, cancellationToken: Ct);
        var missing = await Assert.ThrowsAsync<RpcException>(() => unknownModel.ResponseStream.MoveNext(Ct));
        Assert.Equal(StatusCode.FailedPrecondition, missing.StatusCode);
        Assert.Contains("no classifier.json for classifier 'no_such_model'", missing.Status.Detail, StringComparison.Ordinal);

        using var unknownId = deployment.Client.Explain(new ExplainRequest(ExplainTests.Request(deployment)) { DirectionId = "no-such-direction" }, cancellationToken: Ct);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => unknownId.ResponseStream.MoveNext(Ct))).StatusCode);

        using var badFit = deployment.Client.FitDirection(new FitDirectionRequest { ClassifierModel = new ClassifierModel { Name = Deployment.Model }, TargetClass = 1, NumSamples = 3, HeldOutFraction = 1.5f },
            cancellationToken: Ct);
        var fit = await Assert.ThrowsAsync<RpcException>(() => badFit.ResponseStream.MoveNext(Ct));
        Assert.Equal(["num_samples", "held_out_fraction"], fit.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field));

        // Still serving.
        var good = ExplainTests.Request(deployment);
        good.NumFrames = 2;
        good.DirectionMethod = DirectionMethod.BlackBoxGradientEstimate;
        using var ok = deployment.Client.Explain(good, cancellationToken: Ct);
        Assert.Equal(ExplainResponse.EventOneofCase.Summary, (await ExplainTests.ReadAllAsync(ok))[^1].EventCase);
    }

    [Fact]
    public async Task HealthIsServingOnlyWhileTheGeneratorAndTheClassifierAnswer()
    {
        await using var deployment = await Deployment.StartAsync();
        var health = new Health.HealthClient(deployment.Coordinator.Channel);
        foreach (var service in new[] { "", CoordinatorServiceExtensions.ServiceName })
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = service }, cancellationToken: Ct)).Status);

        var reflection = new ServerReflection.ServerReflectionClient(deployment.Coordinator.Channel);
        using (var call = reflection.ServerReflectionInfo(cancellationToken: Ct))
        {
            await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, Ct);
            await call.RequestStream.CompleteAsync();
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            Assert.Contains(CoordinatorServiceExtensions.ServiceName, call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
        }

        await Deployment.KillAsync(deployment.Classifier);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
            (await health.CheckAsync(new HealthCheckRequest { Service = CoordinatorServiceExtensions.ServiceName }, cancellationToken: Ct)).Status);
    }
}
