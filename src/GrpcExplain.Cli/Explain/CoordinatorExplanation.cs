using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcExplain.Explain;
using GrpcExplain.Protos.V1;
using ProtoDirectionMethod = GrpcExplain.Protos.V1.DirectionMethod;
using ImageFit = GrpcExplain.Classifiers.ImageFit;
using ProtoImageFit = GrpcExplain.Protos.V1.ImageFit;
using ProtoLatentSpace = GrpcExplain.Protos.V1.LatentSpace;

namespace GrpcExplain.Cli.Explain;

/// <summary>
/// An explanation asked of an ExplainerService: the image file goes as it is (the coordinator checks
/// it against its generator and fits it; input.png is the fitted input it sends back), and the stream's
/// messages are written as they come, exactly as an in-process explanation's events are. The service's refusals become one clear message: bad input
/// (INVALID_ARGUMENT, NOT_FOUND) is a usage error, anything else a failure.
/// </summary>
internal static class CoordinatorExplanation
{
    private const int MaxMessageBytes = 64 * 1024 * 1024;

    public static async Task<ExplanationSummary> RunAsync(ExplainSettings settings, ConsoleProgress progress, CancellationToken cancellation)
    {
        var address = settings.Coordinator!;
        var bytes = await File.ReadAllBytesAsync(settings.ImagePath, cancellation).ConfigureAwait(false);
        var format = bytes is [0x89, (byte)'P', (byte)'N', (byte)'G', ..] ? ImageFormat.Png
            : bytes is [0xFF, 0xD8, ..] ? ImageFormat.Jpeg
            : throw new UsageException($"IMAGE '{settings.ImagePath}' is neither a PNG nor a JPEG file.");
        int target = int.Parse(settings.Target, System.Globalization.CultureInfo.InvariantCulture);
        float maxAlpha = settings.MaxAlpha ?? ExplainSettings.CoordinatorMaxAlpha;
        var request = new ExplainRequest
        {
            Image = new Image { Encoded = new EncodedImage { Format = format, Data = ByteString.CopyFrom(bytes) } },
            ClassifierModel = new ClassifierModel { Name = settings.Classifier },
            ImageFit = settings.Fit switch
            {
                ImageFit.Resize => ProtoImageFit.Resize,
                ImageFit.CenterCrop => ProtoImageFit.CenterCrop,
                _ => ProtoImageFit.Unspecified,
            },
            TargetClass = target,
            DirectionMethod = settings.Method switch
            {
                GrpcExplain.Explain.DirectionMethod.Gradient => ProtoDirectionMethod.Gradient,
                GrpcExplain.Explain.DirectionMethod.BlackBoxGradientEstimate => ProtoDirectionMethod.BlackBoxGradientEstimate,
                _ => ProtoDirectionMethod.LinearProbe,
            },
            NumFrames = settings.Frames,
            Encoding = new EncodingOptions { LatentSpace = settings.WPlus ? ProtoLatentSpace.WPlus : ProtoLatentSpace.W, NumSteps = settings.ProjectionSteps > 0 ? settings.ProjectionSteps : ExplainSettings.DefaultProjectionSteps },
        };
        if (settings.StopAt is { } p) request.UntilProbability = new TargetProbability { TargetProbability_ = p, MaxAbsAlpha = maxAlpha };
        else request.AlphaRange = new AlphaRange { AlphaStart = 0, AlphaEnd = maxAlpha };

        var output = new ExplanationOutput(settings.OutputDirectory, ExplainRun.Context(settings, address.ToString(), null, settings.Classifier, "", target, maxAlpha));
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = MaxMessageBytes, MaxSendMessageSize = MaxMessageBytes });
        var client = new ExplainerService.ExplainerServiceClient(channel);
        try
        {
            using var call = client.Explain(request, cancellationToken: cancellation);
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellation).ConfigureAwait(false))
            {
                switch (message.EventCase)
                {
                    case ExplainResponse.EventOneofCase.OriginalPrediction:
                        output.Original(message.OriginalPrediction.PngInput.ToByteArray(), Prediction(message.OriginalPrediction.Prediction));
                        break;
                    case ExplainResponse.EventOneofCase.ProjectionProgress:
                        progress.Report("projecting", message.ProjectionProgress.Step, message.ProjectionProgress.NumSteps);
                        break;
                    case ExplainResponse.EventOneofCase.Reconstruction:
                        var r = message.Reconstruction;
                        output.Reconstruction(r.PngImage.ToByteArray(), Prediction(r.Prediction), r.MeanSquaredError, r.Warning, r.Start == ProjectionStart.Encoder);
                        break;
                    case ExplainResponse.EventOneofCase.Direction:
                        var d = message.Direction;
                        bool probe = d.Method is ProtoDirectionMethod.LinearProbe or ProtoDirectionMethod.Unspecified;
                        output.Direction(new DirectionEntry(ExplainRun.MethodName(probe ? GrpcExplain.Explain.DirectionMethod.LinearProbe
                                : d.Method == ProtoDirectionMethod.Gradient ? GrpcExplain.Explain.DirectionMethod.Gradient : GrpcExplain.Explain.DirectionMethod.BlackBoxGradientEstimate),
                            probe ? d.DirectionId : null, probe ? d.HeldOutAccuracy : null, probe ? d.HeldOutAuc : null));
                        break;
                    case ExplainResponse.EventOneofCase.Frame:
                        var f = message.Frame;
                        output.Frame(f.Index, f.Alpha, f.PngImage.ToByteArray(), Prediction(f.Prediction), f.RmsDistanceToReconstruction);
                        progress.Report("walking", f.Index + 1, settings.Frames);
                        break;
                    case ExplainResponse.EventOneofCase.HeatMap:
                        output.HeatMap(message.HeatMap.Method == HeatMapMethod.GradCam ? "grad_cam" : "occlusion", message.HeatMap.PngOverlay.ToByteArray());
                        break;
                    case ExplainResponse.EventOneofCase.Summary:
                        var s = message.Summary;
                        return output.Finish(s.HasFlipAlpha ? s.FlipAlpha : null, s.SpearmanAlphaTargetProbability, s.RmsTotalImageChange, s.ElapsedSeconds);
                }
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellation.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellation);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.OutOfRange)
        {
            throw new UsageException($"the coordinator at {address} refused the request: {e.Status.Detail}");
        }
        catch (RpcException e)
        {
            throw new InvalidOperationException(e.StatusCode == StatusCode.Unavailable
                ? $"the coordinator at {address} is unavailable (or a service it calls failed): {e.Status.Detail}"
                : $"the coordinator at {address} failed: {e.StatusCode}: {e.Status.Detail}", e);
        }
        throw new InvalidOperationException($"the coordinator at {address} ended the stream without a summary.");
    }

    private static ClassPrediction Prediction(ClassProbabilities p) => new([.. p.Probabilities], p.PredictedClass, [.. p.ClassNames]);
}
