using System.Diagnostics;
using Grpc.Core;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain;
using GrpcExplain.Explain.Directions;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Protos.V1;
using Microsoft.Extensions.Options;
using ProtoDirectionMethod = GrpcExplain.Protos.V1.DirectionMethod;
using ProtoHeatMap = GrpcExplain.Protos.V1.HeatMap;
using ExplainMethod = GrpcExplain.Explain.DirectionMethod;
using HeatMapMethod = GrpcExplain.Explain.HeatMaps.HeatMapMethod;
using HeatMapOverlay = GrpcExplain.Explain.HeatMaps.HeatMapOverlay;

namespace GrpcExplain.Coordinator;

/// <summary>
/// ExplainerService: checks a request, resolves the generator and classifier, runs the method
/// (<see cref="Explainer"/>, <see cref="LinearProbeDirections"/>) and writes its events to the stream
/// as they come, one writer per stream. Failures of the services it calls are mapped by
/// <see cref="CoordinatorErrorInterceptor"/>. Logs say what was asked and how long it took, never
/// what an image holds.
/// </summary>
internal sealed partial class ExplainerGrpcService(GeneratorClient generator, ILatentEncoder encoder, ClassifierCatalog classifiers, LinearProbeDirections probes,
    IOptions<CoordinatorServiceOptions> options, ILogger<ExplainerGrpcService> log) : ExplainerService.ExplainerServiceBase
{
    private readonly CoordinatorServiceOptions _options = options.Value;

    public override async Task Explain(ExplainRequest request, IServerStreamWriter<ExplainResponse> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var (info, classifier) = await ResolveAsync(request.ClassifierModel, nameof(ExplainRequest), ct).ConfigureAwait(false);
        var job = ExplainRequests.Job(request, info, classifier, _options);
        if (request.DirectionId.Length > 0)
            job = job with { StoredDirection = ExplainRequests.CheckStoredDirection(probes.Store.Get(request.DirectionId), request.DirectionId, LinearProbeDirections.KeyFor(info, classifier, request.TargetClass)) };

        var clock = Stopwatch.StartNew();
        int frames = 0;
        var explainer = new Explainer(generator, encoder, probes, _options.ExplainerSettings);
        await foreach (var e in explainer.ExplainAsync(job, classifier, ct).ConfigureAwait(false))
        {
            if (e is FrameMade) frames++;
            await responseStream.WriteAsync(ToMessage(e, info), ct).ConfigureAwait(false);
        }
        LogExplained(log, classifier.Description.Model, job.TargetClass, job.Method, frames, clock.ElapsedMilliseconds);
    }

    public override async Task FitDirection(FitDirectionRequest request, IServerStreamWriter<FitDirectionResponse> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var (info, classifier) = await ResolveAsync(request.ClassifierModel, nameof(FitDirectionRequest), ct).ConfigureAwait(false);
        var settings = ExplainRequests.FitSettings(request, classifier, info, _options);

        var clock = Stopwatch.StartNew();
        var (stored, fitted) = await probes.GetOrFitAsync(generator, classifier, request.TargetClass, settings, request.Refit,
            (p, token) => new ValueTask(responseStream.WriteAsync(new FitDirectionResponse
            {
                Progress = new FitDirectionProgress { Stage = p.Stage, SamplesDone = p.SamplesDone, NumSamples = p.NumSamples, ElapsedSeconds = p.ElapsedSeconds },
            }, token)), ct).ConfigureAwait(false);
        var probe = stored.Probe;
        await responseStream.WriteAsync(new FitDirectionResponse
        {
            Result = new FitDirectionResult
            {
                DirectionId = stored.Id,
                Direction = TensorMessages.ToProto(stored.Vector, stored.Vector.Length),
                HeldOutAccuracy = (float)probe.HeldOutAccuracy,
                HeldOutAuc = (float)probe.HeldOutAuc,
                NumTrainSamples = probe.NumTrain,
                NumHeldOutSamples = probe.NumHeldOut,
                GeneratorWeightsSha256 = stored.Key.GeneratorSha256,
                Labelling = probe.Labelling,
            },
        }, ct).ConfigureAwait(false);
        LogFitted(log, classifier.Description.Model, request.TargetClass, fitted ? "fitted" : "found stored", settings.NumSamples, probe.HeldOutAccuracy, probe.HeldOutAuc, clock.ElapsedMilliseconds);
    }

    /// <summary>The generator as it is now (a restarted one may serve other weights) and the request's classifier, connected.</summary>
    private async Task<(GeneratorInfo Info, IClassifier Classifier)> ResolveAsync(ClassifierModel? model, string request, CancellationToken ct)
    {
        ExplainRequests.CheckClassifierModel(model, request);
        var info = await generator.RefreshInfoAsync(ct).ConfigureAwait(false);
        return (info, await classifiers.GetAsync(model!.Name, model.Version, ct).ConfigureAwait(false));
    }

    private static ExplainResponse ToMessage(ExplanationEvent e, GeneratorInfo info) => e switch
    {
        OriginalPredicted o => new ExplainResponse
        {
            OriginalPrediction = new OriginalPrediction { Prediction = TensorMessages.Probabilities(o.Prediction), PngInput = Google.Protobuf.ByteString.CopyFrom(ImageFiles.Png(o.Input)) },
        },
        ProjectionProgressed p => new ExplainResponse
        {
            ProjectionProgress = new ProjectProgress { Step = p.Progress.Step, NumSteps = p.Progress.NumSteps, Loss = p.Progress.Loss, ElapsedSeconds = p.Progress.ElapsedSeconds },
        },
        Reconstructed r => new ExplainResponse
        {
            Reconstruction = new Reconstruction
            {
                PngImage = Google.Protobuf.ByteString.CopyFrom(ImageFiles.Png(r.Projection.Reconstruction)),
                Prediction = TensorMessages.Probabilities(r.Prediction),
                MeanSquaredError = r.Projection.MeanSquaredError,
                Warning = r.Warning ?? "",
                Ws = TensorMessages.ToProto(r.Projection.Ws.Values, r.Projection.Ws.Shape),
                Start = r.Projection.FromEncoder ? ProjectionStart.Encoder : ProjectionStart.WAvg,
            },
        },
        DirectionChosen d => new ExplainResponse
        {
            Direction = new DirectionUsed
            {
                Method = d.Method switch
                {
                    ExplainMethod.Gradient => ProtoDirectionMethod.Gradient,
                    ExplainMethod.BlackBoxGradientEstimate => ProtoDirectionMethod.BlackBoxGradientEstimate,
                    _ => ProtoDirectionMethod.LinearProbe,
                },
                Direction = d.Vector.Length == info.WDim ? TensorMessages.ToProto(d.Vector, info.WDim) : TensorMessages.ToProto(d.Vector, d.Vector.Length / info.WDim, info.WDim),
                DirectionId = d.Stored?.Id ?? "",
                HeldOutAccuracy = (float)(d.Stored?.Probe.HeldOutAccuracy ?? 0),
                HeldOutAuc = (float)(d.Stored?.Probe.HeldOutAuc ?? 0),
            },
        },
        FrameMade f => new ExplainResponse
        {
            Frame = new Frame
            {
                Index = f.Frame.Index,
                Alpha = f.Frame.Alpha,
                PngImage = Google.Protobuf.ByteString.CopyFrom(ImageFiles.Png(f.Frame.Image)),
                Prediction = TensorMessages.Probabilities(f.Frame.Prediction),
                RmsDistanceToReconstruction = (float)f.Frame.RmsDistanceToReconstruction,
            },
        },
        HeatMapMade h => new ExplainResponse
        {
            HeatMap = new ProtoHeatMap
            {
                Method = h.HeatMap.Method == HeatMapMethod.GradCam ? Protos.V1.HeatMapMethod.GradCam : Protos.V1.HeatMapMethod.Occlusion,
                Relevance = TensorMessages.ToProto(h.HeatMap.Relevance, h.HeatMap.Height, h.HeatMap.Width),
                PngOverlay = Google.Protobuf.ByteString.CopyFrom(ImageFiles.Png(HeatMapOverlay.Render(h.Original, h.HeatMap), 3, h.HeatMap.Height, h.HeatMap.Width)),
            },
        },
        Summarised s => new ExplainResponse
        {
            Summary = new ExplanationSummary
            {
                SpearmanAlphaTargetProbability = (float)s.Summary.Spearman,
                RmsTotalImageChange = (float)s.Summary.RmsTotalImageChange,
                NumFrames = s.Summary.NumFrames,
                ElapsedSeconds = s.ElapsedSeconds,
            }.WithFlip(s.Summary.FlipAlpha),
        },
        _ => throw new InvalidOperationException($"No message for {e.GetType().Name}."),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Explain: classifier {Model} class {TargetClass}, {Method}, {Frames} frames in {ElapsedMs} ms")]
    private static partial void LogExplained(ILogger logger, string model, int targetClass, ExplainMethod method, int frames, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "FitDirection: classifier {Model} class {TargetClass}: {Outcome} ({Samples} samples), held-out accuracy {Accuracy:F3}, AUC {Auc:F3}, in {ElapsedMs} ms")]
    private static partial void LogFitted(ILogger logger, string model, int targetClass, string outcome, int samples, double accuracy, double auc, long elapsedMs);
}

internal static class SummaryMessages
{
    public static ExplanationSummary WithFlip(this ExplanationSummary summary, float? flipAlpha)
    {
        if (flipAlpha is { } alpha) summary.FlipAlpha = alpha;
        return summary;
    }
}
