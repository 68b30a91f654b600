using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Grpc.Core;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifier;

/// <summary>
/// The Open Inference Protocol over the model repository: translation only. Validation lives in
/// <see cref="OipTensors"/> (the messages) and <see cref="Classifiers.Onnx.OnnxModel"/> (the model's
/// declared inputs); <see cref="ErrorInterceptor"/> turns their exceptions into statuses. A white-box
/// model (one with <c>reference.safetensors</c>) also declares and computes the outputs of
/// <see cref="WhiteBoxOutputs"/>: image gradients and Grad-CAM, by <see cref="WhiteBoxInference"/>.
/// </summary>
internal sealed partial class InferenceService(ModelStore store, ILogger<InferenceService> logger) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public const string ServiceName = "inference.GRPCInferenceService";

    /// <summary>Triton's platform name for ONNX Runtime models.</summary>
    public const string Platform = "onnxruntime_onnx";

    private static readonly string Version =
        typeof(InferenceService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = store.Ready });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse { Name = "grpcexplain-classifier", Version = Version });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        RequireName("name", request.Name);
        if (store.Repository is null)
        {
            return Task.FromResult(new ModelReadyResponse { Ready = false });
        }
        store.Resolve(request.Name, request.Version);
        return Task.FromResult(new ModelReadyResponse { Ready = true });
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        RequireName("name", request.Name);
        var (model, _, onnx, whiteBox) = store.Resolve(request.Name, request.Version);
        var response = new ModelMetadataResponse { Name = model.Name, Platform = Platform };
        response.Versions.AddRange(model.Versions.Keys.Select(v => v.ToString(CultureInfo.InvariantCulture)));
        response.Inputs.AddRange(onnx.Inputs.Select(OipTensors.Metadata));
        response.Outputs.AddRange(onnx.Outputs.Select(OipTensors.Metadata));
        if (whiteBox is not null)
        {
            // The white box takes the ONNX model's one input; its outputs follow the model's own.
            response.Outputs.AddRange(WhiteBoxOutputs.Specs(onnx.Inputs[0] with { Shape = [-1, whiteBox.Config.ImgChannels, whiteBox.Config.ImgResolution, whiteBox.Config.ImgResolution] })
                .Select(OipTensors.Metadata));
        }
        return Task.FromResult(response);
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        RequireName("model_name", request.ModelName);
        var (model, version, onnx, whiteBox) = store.Resolve(request.ModelName, request.ModelVersion);
        var plan = WhiteBoxInference.Plan(request, model.Name, onnx, whiteBox);
        var inputs = OipTensors.ReadInputs(request);
        var started = Stopwatch.GetTimestamp();
        var results = await plan.RunAsync(onnx, whiteBox, inputs, context.CancellationToken).ConfigureAwait(false);
        double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        long batch = inputs.Count > 0 && inputs[0].Shape.Count > 0 ? inputs[0].Shape[0] : 0;
        // Sizes and timing only: never tensor contents or the client's request id, which may carry patient data.
        if (plan.WhiteBoxOutputNames.Count > 0)
        {
            LogWhiteBoxInfer(logger, model.Name, version, batch, plan.WhiteBoxOutputNames, elapsedMs);
        }
        else
        {
            LogInfer(logger, model.Name, version, batch, elapsedMs, onnx.ExecutionProvider);
        }
        string versionText = version.ToString(CultureInfo.InvariantCulture);
        return OipTensors.Response(model.Name, versionText, request.Id, results, raw: request.RawInputContents.Count > 0);
    }

    private static void RequireName(string field, string value)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new InvalidInputException([new InputViolation(field, "no model name given")]);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ModelInfer {Model} v{Version}: batch {Batch} in {ElapsedMs:F1} ms on {Provider}")]
    private static partial void LogInfer(ILogger logger, string model, long version, long batch, double elapsedMs, string provider);

    [LoggerMessage(Level = LogLevel.Information, Message = "ModelInfer {Model} v{Version}: batch {Batch} with {WhiteBoxOutputs} in {ElapsedMs:F1} ms")]
    private static partial void LogWhiteBoxInfer(ILogger logger, string model, long version, long batch, IEnumerable<string> whiteBoxOutputs, double elapsedMs);
}
