using GrpcExplain.Classifiers.Onnx;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcExplain.Classifiers.Tests;

/// <summary>The ONNX models the fixture script exported, run by ONNX Runtime, against PyTorch's numbers.</summary>
public class OnnxClassifierTests
{
    [Theory]
    [InlineData("tiny_cnn")]     // FP32 NCHW, mean/std, softmax; 3 images with max_batch_size 2: two runs
    [InlineData("tiny_cnn_u8")]  // UINT8 NHWC grey, one logit through sigmoid into two classes
    public async Task ProbabilitiesMatchPyTorch(string model)
    {
        var c = Fixtures.Case(model);
        using var classifier = OnnxClassifier.Open(Fixtures.Repository, model, options: Fixtures.Cpu);
        var predictions = await classifier.ClassifyAsync(c.Batch, TestContext.Current.CancellationToken);
        Assert.Equal(c.ImagesShape[0], predictions.Count);
        Close.All(c.Probabilities, predictions.Probabilities);
        Assert.Equal("CPU", classifier.ExecutionProvider);
    }

    [Fact]
    public void DescriptionComesFromTheConfig()
    {
        using var classifier = OnnxClassifier.Open(Fixtures.Repository, "tiny_cnn", options: Fixtures.Cpu);
        Assert.Equal(new ClassifierDescription("tiny_cnn", "1", 3, 32, 32, classifier.Description.ClassLabels), classifier.Description);
        Assert.Equal(["normal", "tumor"], classifier.Description.ClassLabels);
    }

    [Fact]
    public void RawModelOutputsMatchPyTorch()
    {
        var c = Fixtures.Case("tiny_cnn_u8");
        using var repo = Fixtures.LoadRepository();
        var (_, version, model) = repo.Resolve("tiny_cnn_u8", "");
        Assert.Equal(1, version);
        var input = Tensor.Uint8("image", [2, 32, 32, 1], c.ModelInput!);
        var output = Assert.Single(model.Run([input], null, TestContext.Current.CancellationToken));
        Assert.Equal("logit", output.Name);
        Assert.Equal(c.OutputsShape, output.Shape);
        Close.All(c.Outputs, output.Floats);
    }

    [Fact]
    public void MetadataIsWhatTheOnnxFileDeclares()
    {
        using var repo = Fixtures.LoadRepository();
        var cnn = repo.Resolve("tiny_cnn", "1").Onnx;
        Assert.Equal([new TensorSpec("image", DataType.Fp32, [-1, 3, 32, 32])], cnn.Inputs, SpecComparer.Instance);
        Assert.Equal([new TensorSpec("logits", DataType.Fp32, [-1, 2])], cnn.Outputs, SpecComparer.Instance);
        var u8 = repo.Resolve("tiny_cnn_u8", "").Onnx;
        Assert.Equal([new TensorSpec("image", DataType.Uint8, [-1, 32, 32, 1])], u8.Inputs, SpecComparer.Instance);
        Assert.Equal(2, cnn.MaxBatchSize);
    }

    [Fact]
    public async Task CancelledBeforeTheRunThrows()
    {
        using var classifier = OnnxClassifier.Open(Fixtures.Repository, "tiny_cnn", options: Fixtures.Cpu);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => classifier.ClassifyAsync(Fixtures.Case("tiny_cnn").Batch, cts.Token));
    }

    [Fact]
    public async Task ImagesOfAnotherSizeOrWithNaNAreRefused()
    {
        using var classifier = OnnxClassifier.Open(Fixtures.Repository, "tiny_cnn", options: Fixtures.Cpu);
        var wrongSize = await Assert.ThrowsAsync<ArgumentException>(() => classifier.ClassifyAsync(new ImageBatch(new float[3 * 16 * 16], 1, 3, 16, 16), TestContext.Current.CancellationToken));
        Assert.Contains("takes 3x32x32 images, got 3x16x16", wrongSize.Message, StringComparison.Ordinal);
        var pixels = new float[2 * 3 * 32 * 32];
        pixels[3 * 32 * 32 + 5] = float.NaN;
        var nan = await Assert.ThrowsAsync<ArgumentException>(() => classifier.ClassifyAsync(new ImageBatch(pixels, 2, 3, 32, 32), TestContext.Current.CancellationToken));
        Assert.Contains("Image 1 has a value that is NaN or infinite (element 5)", nan.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, Func<Tensor[]>, string[]?, string, string> BadRuns => new()
    {
        { "no inputs", () => [], null, "inputs", "input 'image' (image FP32 [-1, 3, 32, 32]) is missing" },
        { "unknown input", () => [Tensor.Fp32("pixels", [1, 3, 32, 32], new float[3072])], null, "inputs[0].name", "the model has no input 'pixels'" },
        { "input twice", () => [Image(1), Image(1)], null, "inputs[1].name", "given twice" },
        { "wrong type", () => [Tensor.Uint8("image", [1, 3, 32, 32], new byte[3072])], null, "inputs[0].datatype", "is FP32, got UINT8" },
        { "wrong shape", () => [Tensor.Fp32("image", [1, 32, 32, 3], new float[3072])], null, "inputs[0].shape", "has shape [-1, 3, 32, 32]" },
        { "wrong rank", () => [Tensor.Fp32("image", [3, 32, 32], new float[3072])], null, "inputs[0].shape", "got [3, 32, 32]" },
        { "empty batch", () => [Tensor.Fp32("image", [0, 3, 32, 32], [])], null, "inputs[0].shape", "batch of input 'image' is empty" },
        { "batch over the limit", () => [Image(3)], null, "inputs[0].shape", "a batch of 3 is larger than this model's limit of 2" },
        { "NaN", () => [Image(1, float.NaN)], null, "inputs[0].contents", "NaN or infinity (element 7)" },
        { "infinity", () => [Image(1, float.PositiveInfinity)], null, "inputs[0].contents", "NaN or infinity (element 7)" },
        { "unknown output", () => [Image(1)], ["probs"], "outputs[0].name", "the model has no output 'probs'" },
        { "output twice", () => [Image(1)], ["logits", "logits"], "outputs[1].name", "asked for twice" },
    };

    [Theory, MemberData(nameof(BadRuns))]
    public void BadRunsAreRefusedBeforeOnnxRuntimeSeesThem(string what, Func<Tensor[]> inputs, string[]? outputs, string field, string message)
    {
        using var repo = Fixtures.LoadRepository(["tiny_cnn"]);
        var model = repo.Resolve("tiny_cnn", "").Onnx;
        var e = Assert.Throws<InvalidInputException>(() => model.Run(inputs(), outputs, TestContext.Current.CancellationToken));
        Assert.True(e.Violations.Any(v => v.Field == field && v.Description.Contains(message, StringComparison.Ordinal)),
            $"{what}: got {e.Message}");
    }

    private static Tensor Image(int n, float poison = 0)
    {
        var data = new float[n * 3 * 32 * 32];
        data[7] = poison;
        return Tensor.Fp32("image", [n, 3, 32, 32], data);
    }

    [Fact]
    public void ForcedCudaWithoutItSaysWhy()
    {
        if (Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            Assert.Skip("This ONNX Runtime build has the CUDA execution provider.");
        }
        var e = Assert.Throws<InvalidOperationException>(() => OnnxModel.Load(
            Path.Combine(Fixtures.Repository, "tiny_cnn", "1", "model.onnx"), new OnnxOptions { ExecutionProvider = ExecutionProvider.Cuda }, 8, NullLogger.Instance));
        Assert.Contains("no CUDA execution provider", e.Message, StringComparison.Ordinal);
        using var auto = OnnxModel.Load(Path.Combine(Fixtures.Repository, "tiny_cnn", "1", "model.onnx"), new OnnxOptions(), 8, NullLogger.Instance);
        Assert.Equal("CPU", auto.ExecutionProvider);
    }

    /// <summary>
    /// Built with -p:OnnxRuntimeGpu=true: the CUDA provider exists, so auto mode runs on CUDA where a
    /// device answers and falls back to the CPU (with the same probabilities) where none does.
    /// </summary>
    [Fact]
    public void GpuBuildRunsOnCudaOrFallsBackToCpu()
    {
        if (!Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            Assert.Skip("This ONNX Runtime build has no CUDA execution provider (build with -p:OnnxRuntimeGpu=true).");
        }
        var path = Path.Combine(Fixtures.Repository, "tiny_cnn", "1", "model.onnx");
        using var cpu = OnnxModel.Load(path, new OnnxOptions { ExecutionProvider = ExecutionProvider.Cpu }, 8, NullLogger.Instance);
        using var auto = OnnxModel.Load(path, new OnnxOptions(), 8, NullLogger.Instance);
        Assert.True(auto.ExecutionProvider is "CUDA" or "CPU", auto.ExecutionProvider);
        if (auto.ExecutionProvider == "CPU")
        {
            var e = Assert.Throws<InvalidOperationException>(() => OnnxModel.Load(path, new OnnxOptions { ExecutionProvider = ExecutionProvider.Cuda }, 8, NullLogger.Instance));
            Assert.Contains("did not start", e.Message, StringComparison.Ordinal);
        }
        var outputs = cpu.Outputs.Select(o => o.Name).ToArray();
        var want = cpu.Run([Image(2)], outputs, TestContext.Current.CancellationToken);
        var got = auto.Run([Image(2)], outputs, TestContext.Current.CancellationToken);
        for (int i = 0; i < want.Count; i++)
            Assert.Equal(want[i].Floats, got[i].Floats, (a, b) => Math.Abs(a - b) <= 1e-4f);
    }
}

internal sealed class SpecComparer : IEqualityComparer<TensorSpec>
{
    public static SpecComparer Instance { get; } = new();

    public bool Equals(TensorSpec? x, TensorSpec? y) => x!.Name == y!.Name && x.Type == y.Type && x.Shape.SequenceEqual(y.Shape);

    public int GetHashCode(TensorSpec obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
}
