using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GrpcExplain.Classifiers.Onnx;

/// <summary>Where ONNX Runtime runs a model.</summary>
public enum ExecutionProvider
{
    /// <summary>CUDA when this ONNX Runtime build has it and a device answers, else CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}

public sealed record OnnxOptions
{
    public ExecutionProvider ExecutionProvider { get; init; } = ExecutionProvider.Auto;

    public int CudaDeviceId { get; init; }

    /// <summary>Threads of one run's operators; 0 lets ONNX Runtime choose (one per core).</summary>
    public int IntraOpThreads { get; init; }
}

/// <summary>
/// One ONNX model file in an ONNX Runtime session: its declared inputs and outputs, and a checked
/// run. Every input is checked against the declaration before ONNX Runtime sees it, so no request
/// reaches native code with a wrong size, type or shape; the session itself is thread-safe.
/// </summary>
public sealed partial class OnnxModel : IDisposable
{
    private readonly InferenceSession _session;

    private OnnxModel(InferenceSession session, string provider, int maxBatchSize, IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        _session = session;
        ExecutionProvider = provider;
        MaxBatchSize = maxBatchSize;
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>"CUDA" or "CPU": where this session runs.</summary>
    public string ExecutionProvider { get; }

    /// <summary>The largest batch one run accepts (from the model's config, else the default).</summary>
    public int MaxBatchSize { get; }

    public IReadOnlyList<TensorSpec> Inputs { get; }

    public IReadOnlyList<TensorSpec> Outputs { get; }

    /// <summary>Loads a model; InvalidDataException when the file is not a model this service can run.</summary>
    public static OnnxModel Load(string path, OnnxOptions options, int maxBatchSize, ILogger logger)
    {
        var (session, provider) = CreateSession(path, options, logger);
        try
        {
            var inputs = Specs(path, "input", session.InputNames, session.InputMetadata);
            var outputs = Specs(path, "output", session.OutputNames, session.OutputMetadata);
            return new OnnxModel(session, provider, maxBatchSize, inputs, outputs);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static (InferenceSession Session, string Provider) CreateSession(string path, OnnxOptions options, ILogger logger)
    {
        if (options.ExecutionProvider != Onnx.ExecutionProvider.Cpu && TryCuda(path, options, logger) is { } cuda)
        {
            return (cuda, "CUDA");
        }
        using var cpu = new SessionOptions { IntraOpNumThreads = options.IntraOpThreads };
        try
        {
            return (new InferenceSession(path, cpu), "CPU");
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{path}: ONNX Runtime cannot load the model: {e.Message}", e);
        }
    }

    /// <summary>
    /// A session on CUDA, or null (logged) when this build lacks the provider or it does not start,
    /// for instance without a device or without the CUDA libraries it loads; Cuda mode throws instead.
    /// </summary>
    private static InferenceSession? TryCuda(string path, OnnxOptions options, ILogger logger)
    {
        string reason;
        if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            reason = "this ONNX Runtime build has no CUDA execution provider (the Microsoft.ML.OnnxRuntime.Gpu packages have it)";
        }
        else
        {
            using var sessionOptions = new SessionOptions { IntraOpNumThreads = options.IntraOpThreads };
            try
            {
                sessionOptions.AppendExecutionProvider_CUDA(options.CudaDeviceId);
                var session = new InferenceSession(path, sessionOptions);
                LogProvider(logger, "CUDA", options.CudaDeviceId);
                return session;
            }
            catch (OnnxRuntimeException e)
            {
                reason = $"the CUDA execution provider did not start on device {options.CudaDeviceId}: {e.Message}";
            }
        }
        if (options.ExecutionProvider == Onnx.ExecutionProvider.Cuda)
        {
            throw new InvalidOperationException($"{path}: {reason}.");
        }
        LogCudaFallback(logger, reason);
        return null;
    }

    private static List<TensorSpec> Specs(string path, string kind, IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata)
    {
        var specs = new List<TensorSpec>();
        foreach (string name in names)
        {
            var m = metadata[name];
            DataType? type = m.IsTensor ? m.ElementDataType switch
            {
                TensorElementType.Float => DataType.Fp32,
                TensorElementType.UInt8 => DataType.Uint8,
                _ => null,
            } : null;
            if (type is null)
            {
                throw new InvalidDataException(
                    $"{path}: {kind} '{name}' is {(m.IsTensor ? m.ElementDataType.ToString() : m.OnnxValueType.ToString())}; this service serves FP32 and UINT8 tensors only.");
            }
            // ONNX marks a symbolic dimension (a named batch axis) as -1, as the protocol does.
            specs.Add(new TensorSpec(name, type.Value, [.. m.Dimensions.Select(d => d < 0 ? -1L : d)]));
        }
        return specs;
    }

    /// <summary>
    /// Checks the inputs against the declaration (InvalidInputException naming every problem, with
    /// fields <c>inputs[i]...</c>) and runs the model. Cancellation stops a run under way.
    /// </summary>
    public IReadOnlyList<Tensor> Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string>? outputNames, CancellationToken cancellationToken)
    {
        var requested = Check(inputs, outputNames);
        cancellationToken.ThrowIfCancellationRequested();
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (var t in inputs)
            {
                long[] shape = [.. t.Shape];
                values.Add(t.Type == DataType.Fp32 ? OrtValue.CreateTensorValueFromMemory(t.Floats, shape) : OrtValue.CreateTensorValueFromMemory(t.Bytes, shape));
            }
            using var runOptions = new RunOptions();
            using var registration = cancellationToken.Register(() => runOptions.Terminate = true);
            IDisposableReadOnlyCollection<OrtValue> results;
            try
            {
                results = _session.Run(runOptions, [.. inputs.Select(t => t.Name)], values, [.. requested.Select(s => s.Name)]);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            using (results)
            {
                return [.. requested.Zip(results, ToTensor)];
            }
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    private static Tensor ToTensor(TensorSpec spec, OrtValue value)
    {
        long[] shape = value.GetTensorTypeAndShape().Shape;
        return spec.Type == DataType.Fp32
            ? Tensor.Fp32(spec.Name, shape, value.GetTensorDataAsSpan<float>().ToArray())
            : Tensor.Uint8(spec.Name, shape, value.GetTensorDataAsSpan<byte>().ToArray());
    }

    private List<TensorSpec> Check(IReadOnlyList<Tensor> inputs, IReadOnlyList<string>? outputNames)
    {
        var v = new List<InputViolation>();
        long? batch = null;
        for (int i = 0; i < inputs.Count; i++)
        {
            var t = inputs[i];
            string field = $"inputs[{i}]";
            var spec = Inputs.FirstOrDefault(s => s.Name == t.Name);
            if (spec is null)
            {
                v.Add(new($"{field}.name", $"the model has no input '{t.Name}'; its inputs are {string.Join(", ", Inputs.Select(s => s.Name))}"));
                continue;
            }
            if (inputs.Take(i).Any(o => o.Name == t.Name))
            {
                v.Add(new($"{field}.name", $"input '{t.Name}' is given twice"));
                continue;
            }
            if (t.Type != spec.Type)
            {
                v.Add(new($"{field}.datatype", $"input '{t.Name}' is {DataTypes.Name(spec.Type)}, got {DataTypes.Name(t.Type)}"));
            }
            if (!ShapeFits(spec.Shape, t.Shape))
            {
                v.Add(new($"{field}.shape", $"input '{t.Name}' has shape [{string.Join(", ", spec.Shape)}] (-1: any size), got [{string.Join(", ", t.Shape)}]"));
            }
            else if (spec.Shape.Count > 0 && spec.Shape[0] == -1)
            {
                long n = t.Shape[0];
                if (n < 1)
                {
                    v.Add(new($"{field}.shape", $"the batch of input '{t.Name}' is empty"));
                }
                else if (n > MaxBatchSize)
                {
                    v.Add(new($"{field}.shape", $"a batch of {n} is larger than this model's limit of {MaxBatchSize}"));
                }
                else if (batch is { } b && b != n)
                {
                    v.Add(new($"{field}.shape", $"batch {n} differs from the other inputs' batch {b}"));
                }
                batch ??= n;
            }
            if (t.Type == DataType.Fp32 && Preprocessing.FirstNonFinite(t.Floats) is int bad and >= 0)
            {
                v.Add(new($"{field}.contents", $"input '{t.Name}' holds NaN or infinity (element {bad})"));
            }
        }
        foreach (var missing in Inputs.Where(s => inputs.All(t => t.Name != s.Name)))
        {
            v.Add(new("inputs", $"input '{missing.Name}' ({missing}) is missing"));
        }
        var requested = new List<TensorSpec>();
        var names = outputNames is { Count: > 0 } ? outputNames : [.. Outputs.Select(s => s.Name)];
        for (int i = 0; i < names.Count; i++)
        {
            var spec = Outputs.FirstOrDefault(s => s.Name == names[i]);
            if (spec is null)
            {
                v.Add(new($"outputs[{i}].name", $"the model has no output '{names[i]}'; its outputs are {string.Join(", ", Outputs.Select(s => s.Name))}"));
            }
            else if (requested.Contains(spec))
            {
                v.Add(new($"outputs[{i}].name", $"output '{names[i]}' is asked for twice"));
            }
            else
            {
                requested.Add(spec);
            }
        }
        if (v.Count > 0)
        {
            throw new InvalidInputException(v);
        }
        return requested;
    }

    private static bool ShapeFits(IReadOnlyList<long> declared, IReadOnlyList<long> given) =>
        declared.Count == given.Count && declared.Zip(given).All(p => p.First == -1 || p.First == p.Second);

    public void Dispose() => _session.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "ONNX Runtime execution provider {Provider} on device {DeviceId}")]
    private static partial void LogProvider(ILogger logger, string provider, int deviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "ONNX Runtime runs on CPU: {Reason}")]
    private static partial void LogCudaFallback(ILogger logger, string reason);
}
