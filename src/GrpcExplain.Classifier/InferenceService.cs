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
/// declared inputs); <see cref="ErrorInterceptor"/> turns their exceptions into statuses.
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
        if (store.Repository is not { } repository)
        {
            return Task.FromResult(new ModelReadyResponse { Ready = false });
        }
        repository.Resolve(request.Name, request.Version);
        return Task.FromResult(new ModelReadyResponse { Ready = true });
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        RequireName("name", request.Name);
        var (model, _, onnx) = store.Require().Resolve(request.Name, request.Version);
        var response = new ModelMetadataResponse { Name = model.Name, Platform = Platform };
        response.Versions.AddRange(model.Versions.Keys.Select(v => v.ToString(CultureInfo.InvariantCulture)));
        response.Inputs.AddRange(onnx.Inputs.Select(OipTensors.Metadata));
        response.Outputs.AddRange(onnx.Outputs.Select(OipTensors.Metadata));
        return Task.FromResult(response);
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        RequireName("model_name", request.ModelName);
        var (model, version, onnx) = store.Require().Resolve(request.ModelName, request.ModelVersion);
        var inputs = OipTensors.ReadInputs(request);
        string[] outputs = [.. request.Outputs.Select(o => o.Name)];
        var started = Stopwatch.GetTimestamp();
        var results = await Task.Run(() => onnx.Run(inputs, outputs, context.CancellationToken), context.CancellationToken).ConfigureAwait(false);
        double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        long batch = inputs.Count > 0 && inputs[0].Shape.Count > 0 ? inputs[0].Shape[0] : 0;
        // Sizes and timing only: never tensor contents or the client's request id, which may carry patient data.
        LogInfer(logger, model.Name, version, batch, elapsedMs, onnx.ExecutionProvider);
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
}
