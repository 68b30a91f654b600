namespace GrpcExplain.Classifiers.Tests;

public class ClassifierConfigTests
{
    private const string Good = """
        { "input": { "name": "image", "datatype": "FP32", "layout": "NCHW", "channels": 3, "height": 32, "width": 32 },
          "normalization": { "scale": 1.0, "mean": [0.5], "std": [0.5, 0.5, 0.5] },
          "output": { "name": "logits", "activation": "softmax" },
          "class_labels": [ "normal", "tumor" ],
          "max_batch_size": 4 }
        """;

    [Fact]
    public void FixtureConfigsRead()
    {
        var c = Fixtures.Config("tiny_cnn");
        Assert.Equal(DataType.Fp32, c.Input.Datatype);
        Assert.Equal(Layout.Nchw, c.Input.Layout);
        Assert.Equal([0.485f, 0.456f, 0.406f], c.Normalization!.Mean);
        Assert.Equal(Activation.Softmax, c.Output.Activation);
        Assert.Equal(2, c.MaxBatchSize);
        var u8 = Fixtures.Config("tiny_cnn_u8");
        Assert.Equal((DataType.Uint8, Layout.Nhwc, Activation.Sigmoid), (u8.Input.Datatype, u8.Input.Layout, u8.Output.Activation));
        Assert.Null(u8.Normalization);
    }

    [Fact]
    public void WritesWhatItReads()
    {
        var c = ClassifierConfig.Parse(Good, "good.json");
        var again = ClassifierConfig.Parse(c.ToJson(), "again.json");
        Assert.Equal(c.ToJson(), again.ToJson());
        Assert.Contains("\"datatype\":\"FP32\"", c.ToJson(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadConfigs => new()
    {
        { "not JSON", "{", "not a valid classifier config" },
        { "unknown field", Good.Replace("\"max_batch_size\"", "\"max_batch\"", StringComparison.Ordinal), "max_batch" },
        { "unknown datatype", Good.Replace("\"FP32\"", "\"FP16\"", StringComparison.Ordinal), "not a valid classifier config" },
        { "no input", """{ "output": { "name": "y" }, "class_labels": ["a", "b"] }""", "input" },
        { "zero size", Good.Replace("\"height\": 32", "\"height\": 0", StringComparison.Ordinal), "must be positive" },
        { "mean per channel", Good.Replace("[0.5]", "[0.5, 0.5]", StringComparison.Ordinal), "normalization.mean needs 1 or 3 values, has 2" },
        { "zero std", Good.Replace("[0.5, 0.5, 0.5]", "[0.5, 0, 0.5]", StringComparison.Ordinal), "std finite and non-zero" },
        { "normalised UINT8", Good.Replace("\"FP32\"", "\"UINT8\"", StringComparison.Ordinal), "normalization applies to FP32 inputs only" },
        { "one label for softmax", Good.Replace("[ \"normal\", \"tumor\" ]", "[ \"tumor\" ]", StringComparison.Ordinal), "at least 2 labels" },
        { "duplicate labels", Good.Replace("\"tumor\"", "\"normal\"", StringComparison.Ordinal), "duplicates" },
        { "batch 0", Good.Replace("\"max_batch_size\": 4", "\"max_batch_size\": 0", StringComparison.Ordinal), "max_batch_size must be at least 1" },
    };

    [Theory, MemberData(nameof(BadConfigs))]
    public void BadConfigsNameTheFileAndTheProblem(string what, string json, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => ClassifierConfig.Parse(json, "models/x/classifier.json"));
        Assert.StartsWith("models/x/classifier.json: ", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    [Fact]
    public void MismatchesWithTheModelAreEachNamed()
    {
        var c = ClassifierConfig.Parse(Good, "good.json");
        TensorSpec[] inputs = [new("image", DataType.Uint8, [-1, 32, 32, 3])];
        TensorSpec[] outputs = [new("logits", DataType.Fp32, [-1, 5])];
        var problems = c.ProblemsWith(inputs, outputs);
        Assert.Equal(3, problems.Count);
        Assert.Contains("input 'image' is UINT8, the config says FP32", problems);
        Assert.Contains("input 'image' has shape [-1, 32, 32, 3], the config says [N, 3, 32, 32] (Nchw)", problems);
        Assert.Contains("output 'logits' has 5 scores per image, which Softmax does not turn into 2 class probabilities", problems);
        Assert.Empty(c.ProblemsWith([new("image", DataType.Fp32, [-1, 3, -1, -1])], [new("logits", DataType.Fp32, [-1, -1])]));
        Assert.Contains("the model has no output 'logits' (it has probs FP32 [-1, 2])", c.ProblemsWith(inputs, [new("probs", DataType.Fp32, [-1, 2])]));
    }
}
