using GrpcExplain.Classifiers.Onnx;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Classifier;

/// <summary>Settings of the classifier service (configuration section "Classifier").</summary>
public sealed class ClassifierServiceOptions
{
    public const string SectionName = "Classifier";

    /// <summary>The model repository: REPO/MODEL/VERSION/model.onnx with REPO/MODEL/classifier.json.</summary>
    public string? ModelRepository { get; set; }

    /// <summary>Models to load; empty loads every model folder in the repository.</summary>
    public IList<string> Models { get; } = [];

    /// <summary>auto (CUDA where ONNX Runtime has it and a device answers, else CPU), cpu or cuda.</summary>
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Auto;

    public int CudaDeviceId { get; set; }

    /// <summary>Threads of one model run; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Largest request and response message: a batch of images passes gRPC's 4 MB default.</summary>
    public int MaxMessageSizeBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>gzip responses to clients whose grpc-accept-encoding lists it.</summary>
    public bool CompressResponses { get; set; } = true;

    /// <summary>Tests hold loading here to watch the service before its models are loaded.</summary>
    internal Func<CancellationToken, Task>? BeforeLoad { get; set; }

    internal OnnxOptions Onnx => new() { ExecutionProvider = ExecutionProvider, CudaDeviceId = CudaDeviceId, IntraOpThreads = IntraOpThreads };
}

internal sealed class ClassifierServiceOptionsValidation : IValidateOptions<ClassifierServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, ClassifierServiceOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ModelRepository))
        {
            failures.Add("Classifier:ModelRepository is not set: name the model repository folder (REPO/MODEL/VERSION/model.onnx).");
        }
        if (options.MaxMessageSizeBytes < 1024)
        {
            failures.Add($"Classifier:MaxMessageSizeBytes is {options.MaxMessageSizeBytes}; it must be at least 1024.");
        }
        if (options.IntraOpThreads < 0 || options.CudaDeviceId < 0)
        {
            failures.Add("Classifier:IntraOpThreads and Classifier:CudaDeviceId must not be negative.");
        }
        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
