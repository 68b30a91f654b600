using Grpc.Core;
using GrpcExplain.Protos.V1;
using Case = GrpcExplain.Protos.V1.ExplainResponse.EventOneofCase;

namespace GrpcExplain.Coordinator.Tests;

public class FitDirectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static async Task<List<FitDirectionResponse>> FitAsync(Deployment deployment, bool refit = false)
    {
        using var call = deployment.Client.FitDirection(new FitDirectionRequest
        {
            ClassifierModel = new ClassifierModel { Name = Deployment.Model },
            TargetClass = 1,
            NumSamples = 200,
            Refit = refit,
        }, cancellationToken: Ct);
        var responses = new List<FitDirectionResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync(Ct)) responses.Add(r);
        return responses;
    }

    [Fact]
    public async Task ADirectionIsFittedOnceAndSurvivesARestartOfTheCoordinator()
    {
        await using var deployment = await Deployment.StartAsync();
        var first = await FitAsync(deployment);
        Assert.All(first.SkipLast(1), r => Assert.Equal(FitDirectionResponse.EventOneofCase.Progress, r.EventCase));
        Assert.Equal(["sampling", "classifying", "fitting"], first.SkipLast(1).Select(r => r.Progress.Stage).Distinct());
        var result = first[^1].Result;
        Assert.NotEmpty(result.DirectionId);
        Assert.Equal([32L], result.Direction.Shape);
        Assert.Equal(1, Math.Sqrt(Tensors.Floats(result.Direction).Sum(v => (double)v * v)), 5);
        Assert.Equal(200, result.NumTrainSamples + result.NumHeldOutSamples);
        // The classifier is linear in pixels, not in w: a linear probe in W separates it well, not perfectly (40 held-out samples).
        Assert.True(result.HeldOutAccuracy > 0.7 && result.HeldOutAuc > 0.8, $"accuracy {result.HeldOutAccuracy}, AUC {result.HeldOutAuc}");
        Assert.Equal(64, result.GeneratorWeightsSha256.Length);
        Assert.StartsWith("the classifier's decision", result.Labelling, StringComparison.Ordinal);

        await deployment.Coordinator.DisposeAsync();
        await deployment.StartCoordinatorAsync();
        int classified = deployment.ClassifierGate.Calls;
        var again = await FitAsync(deployment);
        Assert.Equal(FitDirectionResponse.EventOneofCase.Result, Assert.Single(again).EventCase);
        Assert.Equal(result.DirectionId, again[0].Result.DirectionId);
        Assert.Equal(result.Direction.Data, again[0].Result.Direction.Data);
        Assert.Equal(classified, deployment.ClassifierGate.Calls);

        // The restarted coordinator explains with the stored direction, named by its id.
        var request = ExplainTests.Request(deployment);
        request.DirectionId = result.DirectionId;
        request.NumFrames = 2;
        using var call = deployment.Client.Explain(request, cancellationToken: Ct);
        var direction = (await ExplainTests.ReadAllAsync(call)).Single(r => r.EventCase == Case.Direction).Direction;
        Assert.Equal(result.DirectionId, direction.DirectionId);
        Assert.Equal(result.HeldOutAuc, direction.HeldOutAuc);

        var refit = await FitAsync(deployment, refit: true);
        Assert.True(refit.Count > 1);
        Assert.NotEqual(result.DirectionId, refit[^1].Result.DirectionId);
    }
}
