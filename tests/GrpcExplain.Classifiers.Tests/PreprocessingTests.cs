namespace GrpcExplain.Classifiers.Tests;

public class PreprocessingTests
{
    [Fact]
    public void Uint8NhwcInputIsThePyTorchTensor()
    {
        var c = Fixtures.Case("tiny_cnn_u8");
        var input = Preprocessing.ToModelInput(Fixtures.Config("tiny_cnn_u8"), c.Batch, 0, 2);
        Assert.Equal([2L, 32, 32, 1], input.Shape);
        Assert.Equal(c.ModelInput, input.Bytes);
    }

    [Fact]
    public void Fp32NormalisationPerChannelAndLayout()
    {
        // Two 1x2 images with 2 channels: x -> ((x + 1) / 2 * scale - mean[c]) / std[c].
        var images = new ImageBatch([-1f, 1f, 0f, 0.5f, /* image 1 */ 1f, 1f, -1f, -1f], 2, 2, 1, 2);
        var nchw = new ClassifierConfig
        {
            Input = new InputConfig { Name = "x", Channels = 2, Height = 1, Width = 2 },
            Normalization = new NormalizationConfig { Scale = 255, Mean = [0, 100], Std = [255, 2] },
            Output = new OutputConfig { Name = "y" },
            ClassLabels = ["a", "b"],
        };
        var t = Preprocessing.ToModelInput(nchw, images, 1, 1);
        Assert.Equal([1L, 2, 1, 2], t.Shape);
        Assert.Equal([1f, 1f, -50f, -50f], t.Floats);
        var nhwc = nchw with { Input = nchw.Input with { Layout = Layout.Nhwc } };
        var u = Preprocessing.ToModelInput(nhwc, images, 0, 2);
        Assert.Equal([2L, 1, 2, 2], u.Shape);
        Assert.Equal([0f, (127.5f - 100) / 2, 1f, (191.25f - 100) / 2, 1f, -50f, 1f, -50f], u.Floats);
        var plain = Preprocessing.ToModelInput(nchw with { Normalization = null }, images, 0, 1);
        Assert.Equal([0f, 1f, 0.5f, 0.75f], plain.Floats);
    }

    [Fact]
    public void Uint8ClampsImagesThatStrayOutsideTheRange()
    {
        var config = Fixtures.Config("tiny_cnn_u8") with { Input = new InputConfig { Name = "image", Datatype = DataType.Uint8, Channels = 1, Height = 1, Width = 4 } };
        var t = Preprocessing.ToModelInput(config, new ImageBatch([-1.2f, 1.3f, 0f, -1f], 1, 1, 1, 4), 0, 1);
        Assert.Equal([0, 255, 128, 0], t.Bytes); // 0 -> 127.5 rounds to even
    }

    [Fact]
    public void SoftmaxAndSigmoidGiveProbabilities()
    {
        var softmax = Fixtures.Config("tiny_cnn");
        var p = Postprocessing.ToProbabilities(softmax, Tensor.Fp32("logits", [2, 2], [0f, 0f, 1000f, 0f]), 2);
        Assert.Equal([0.5f, 0.5f, 1f, 0f], p);
        var sigmoid = Fixtures.Config("tiny_cnn_u8");
        var q = Postprocessing.ToProbabilities(sigmoid, Tensor.Fp32("logit", [1, 1], [0f]), 1);
        Assert.Equal([0.5f, 0.5f], q);
        Assert.Throws<InvalidDataException>(() => Postprocessing.ToProbabilities(softmax, Tensor.Fp32("logits", [1, 3], new float[3]), 1));
        Assert.Throws<InvalidDataException>(() => Postprocessing.ToProbabilities(softmax, Tensor.Fp32("logits", [1, 2], [float.NaN, 0]), 1));
    }
}
