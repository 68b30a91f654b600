using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcExplain.Classifiers.Tests.Reference;

/// <summary>The exported repository entry run by ONNX Runtime (the classifier service's path) against our forward.</summary>
public class OnnxExportTests
{
    public static TheoryData<string> Configs => ["tiny-rgb", "tiny-grey", "default-64-rgb"];

    private static ReferenceCnnConfig ConfigOf(string name) => name switch
    {
        "tiny-rgb" => TinyCnn.Rgb,
        "tiny-grey" => TinyCnn.GreySingle,
        _ => new ReferenceCnnConfig(64, 3, ReferenceCnnConfig.DefaultChannels, ["no tumour", "tumour"]),
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public async Task OnnxRuntimeGivesOurLogitsAndProbabilities(string name)
    {
        var config = ConfigOf(name);
        var weights = TinyCnn.Weights(config, 41);
        var images = TinyCnn.Images(config, 3, 42);
        using var backend = Backends.Create("cpu");
        using var net = new ReferenceCnn(backend, weights);
        var logits = net.Logits(images, 3);

        using var folder = new TempFolder();
        ReferenceCnnExport.Write(weights, folder.Path, "cnn", ImageFit.CenterCrop);
        using var repository = Fixtures.LoadRepository(root: folder.Path);
        Assert.Empty(repository.Failures);
        var (model, _, onnx) = repository.Resolve("cnn", null);
        var batch = new ImageBatch(images, 3, config.ImgChannels, config.ImgResolution, config.ImgResolution);
        var output = onnx.Run([Preprocessing.ToModelInput(model.Config!, batch, 0, 3)], [OnnxReferenceCnn.OutputName], TestContext.Current.CancellationToken)[0];
        Assert.Equal([3L, config.ClassCount], output.Shape);
        Close.All(logits, output.Floats, atol: 1e-4f, rtol: 1e-4f);

        using var classifier = OnnxClassifier.FromRepository(repository, "cnn");
        var predictions = await classifier.ClassifyAsync(batch, TestContext.Current.CancellationToken);
        Close.All(net.Probabilities(images, 3), predictions.Probabilities, atol: 1e-5f);
        Assert.Equal(config.ClassLabels, classifier.Description.ClassLabels);
    }

    [Fact]
    public void TheRepositoryEntryHoldsAllThreeFilesAndTheConfigReadsBack()
    {
        using var folder = new TempFolder();
        var weights = TinyCnn.Weights(TinyCnn.GreySingle, 1);
        string entry = ReferenceCnnExport.Write(weights, folder.Path, "knee", ImageFit.Resize);
        Assert.True(File.Exists(Path.Combine(entry, "1", "model.onnx")));
        Assert.Equal(weights["conv0.weight"].Data, ReferenceCnnWeights.Load(Path.Combine(entry, ReferenceCnnExport.WeightsFileName))["conv0.weight"].Data);
        var config = ClassifierConfig.Load(Path.Combine(entry, ClassifierConfig.FileName));
        Assert.Equal(ImageFit.Resize, config.Fit);
        Assert.Equal(["no", "yes"], config.ClassLabels);
        Assert.Equal(Activation.Softmax, config.Output.Activation);
        Assert.Equal((1, 8, 8), (config.Input.Channels, config.Input.Height, config.Input.Width));
        string text = File.ReadAllText(Path.Combine(entry, ClassifierConfig.FileName));
        Assert.Contains("\"fit\": \"resize\"", text);
        Assert.Empty(Directory.GetFiles(entry, "*.tmp", SearchOption.AllDirectories));

        Assert.Equal(ImageFit.CenterCrop, ClassifierConfig.Parse(text.Replace("\"resize\"", "\"center_crop\"", StringComparison.Ordinal), "x").Fit);
        Assert.Contains("fit", Assert.Throws<InvalidDataException>(() => ClassifierConfig.Parse(text.Replace("\"resize\"", "\"stretch\"", StringComparison.Ordinal), "x")).Message);
        // A config that names no fit resizes, as configs did before the field existed.
        Assert.Equal(ImageFit.Resize, ClassifierConfig.Parse(text.Replace("\"fit\": \"resize\"", "\"max_batch_size\": 2", StringComparison.Ordinal).Replace("\"max_batch_size\": 64,", "", StringComparison.Ordinal), "x").Fit);
        Assert.Throws<ArgumentException>(() => ReferenceCnnExport.Write(weights, folder.Path, "../up", ImageFit.Resize));
    }

    [Fact]
    public void TheSharedWriterStillMakesTheLinearModel()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "linear.onnx");
        float[] w = [0.5f, -1f, 2f, 0.25f];
        File.WriteAllBytes(path, OnnxLinearModel.Write(w, 0.75f, 1, 2));
        using var model = OnnxModel.Load(path, Fixtures.Cpu, 4, NullLogger.Instance);
        var output = model.Run([Tensor.Fp32("image", [1, 1, 2, 2], [1f, 2f, 3f, 4f])], ["logit"], TestContext.Current.CancellationToken)[0];
        Assert.Equal([0.5f - 2f + 6f + 1f + 0.75f], output.Floats);
    }
}
