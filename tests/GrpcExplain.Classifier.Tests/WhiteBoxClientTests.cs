using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Classifiers.Tests;

namespace GrpcExplain.Classifier.Tests;

/// <summary>
/// The white-box client: an OipClassifier over a model whose metadata lists logit_gradient and grad_cam
/// offers them, with the gradient carried back through the config's normalisation to images in [-1, 1]
/// (checked against central differences of the served model's own logits); the in-process
/// OnnxWhiteBoxClassifier gives the same numbers.
/// </summary>
public class WhiteBoxClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OnlyAModelThatListsTheOutputsIsAWhiteBox()
    {
        using var repository = new WhiteBoxRepository();
        await using var host = await WhiteBoxServiceTests.StartAsync(repository);
        using var whiteBox = await OipClassifier.ConnectAsync(host.Channel, WhiteBoxRepository.WhiteBox, null, repository.Config, cancellationToken: Ct);
        using var blackBox = await OipClassifier.ConnectAsync(host.Channel, WhiteBoxRepository.BlackBox, null, repository.Config, cancellationToken: Ct);
        Assert.IsAssignableFrom<IImageGradientClassifier>(whiteBox);
        Assert.IsAssignableFrom<IGradCamClassifier>(whiteBox);
        Assert.False(blackBox is IImageGradientClassifier or IGradCamClassifier);
        // UINT8 levels have no gradient: the same server model fed as a UINT8 one is a black box to this client.
        Assert.False(OipWhiteBoxClassifier.Offered(WhiteBoxRepository.WhiteBox,
            repository.Config with { Input = repository.Config.Input with { Datatype = DataType.Uint8 }, Normalization = null },
            await host.Client.ModelMetadataAsync(new Inference.ModelMetadataRequest { Name = WhiteBoxRepository.WhiteBox }, cancellationToken: Ct)));
    }

    [Fact]
    public async Task TheImageGradientIsTheServedLogitsSlopeInImageUnits()
    {
        using var repository = new WhiteBoxRepository();
        await using var host = await WhiteBoxServiceTests.StartAsync(repository);
        using var classifier = await ConnectAsync(host, repository);
        // Three images go as two calls (max_batch_size 2).
        var images = WhiteBoxRepository.Images(3, seed: 5);
        const int target = 1;
        var (predictions, gradient) = await classifier.ClassLogitGradientAsync(images, target, Ct);
        Assert.Equal((await classifier.ClassifyAsync(images, Ct)).Probabilities, predictions.Probabilities);
        Assert.Equal(images.Pixels.Length, gradient.Length);

        // Central differences of the logit the server's ONNX graph gives for images moved along the gradient and
        // two random directions, preprocessed as the client preprocesses them: the network is piecewise linear, so
        // they are its slope, up to float32 rounding of the logits (~3e-5 here).
        const double h = 2e-3;
        var rng = new Random(9);
        int length = images.ImageLength;
        for (int n = 0; n < images.Count; n++)
        {
            double gradientNorm = Math.Sqrt(gradient.Skip(n * length).Take(length).Sum(x => (double)x * x));
            for (int d = 0; d < 3; d++)
            {
                var v = d == 0 ? gradient.Skip(n * length).Take(length).Select(x => (double)x).ToArray() : Enumerable.Range(0, length).Select(_ => rng.NextDouble() - 0.5).ToArray();
                double norm = Math.Sqrt(v.Sum(x => x * x));
                double slope = 0;
                for (int i = 0; i < length; i++) slope += gradient[n * length + i] * v[i] / norm;
                var moved = new float[2 * length];
                for (int i = 0; i < length; i++)
                {
                    moved[i] = (float)(images.Pixels[n * length + i] + h * v[i] / norm);
                    moved[length + i] = (float)(images.Pixels[n * length + i] - h * v[i] / norm);
                }
                var logits = await ServedLogitsAsync(host, repository, new ImageBatch(moved, 2, 3, 8, 8));
                double difference = (logits[target] - logits[3 + target]) / (2 * h);
                Assert.True(Math.Abs(difference - slope) <= 1e-3 * gradientNorm + 5e-5,
                    $"image {n}, direction {d}: central difference {difference:G6}, gradient·v {slope:G6}");
            }
        }
    }

    [Fact]
    public async Task GradCamOverTheWireIsTheReferenceCnnsOnThePreprocessedImages()
    {
        using var repository = new WhiteBoxRepository();
        await using var host = await WhiteBoxServiceTests.StartAsync(repository);
        using var classifier = await ConnectAsync(host, repository);
        var images = WhiteBoxRepository.Images(3, seed: 6);
        var maps = await classifier.GradCamAsync(images, 0, Ct);
        using var network = repository.Network();
        var input = Preprocessing.ToModelInput(repository.Config, images, 0, 3).Floats;
        int length = images.ImageLength;
        float[] expected = [.. Enumerable.Range(0, 3).SelectMany(n => network.GradCam(input[(n * length)..((n + 1) * length)], 0))];
        Close.All(expected, maps, atol: 1e-6f);
        Assert.Throws<ArgumentOutOfRangeException>(() => classifier.GradCamAsync(images, 3, Ct).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task InProcessTheWhiteBoxGivesWhatTheServiceGives()
    {
        using var repository = new WhiteBoxRepository();
        await using var host = await WhiteBoxServiceTests.StartAsync(repository);
        using var remote = await ConnectAsync(host, repository);
        using var local = OnnxWhiteBoxClassifier.Open(repository.Root, WhiteBoxRepository.WhiteBox, options: Fixtures.Cpu);
        var whiteBox = Assert.IsType<OnnxWhiteBoxClassifier>(local);
        var images = WhiteBoxRepository.Images(3, seed: 7);
        var (remotePredictions, remoteGradient) = await remote.ClassLogitGradientAsync(images, 2, Ct);
        var (localPredictions, localGradient) = await whiteBox.ClassLogitGradientAsync(images, 2, Ct);
        Assert.Equal(remotePredictions.Probabilities, localPredictions.Probabilities);
        Close.All(remoteGradient, localGradient, atol: 1e-6f);
        Close.All(await remote.GradCamAsync(images, 1, Ct), await whiteBox.GradCamAsync(images, 1, Ct), atol: 1e-6f);
        using var blackBox = OnnxWhiteBoxClassifier.Open(repository.Root, WhiteBoxRepository.BlackBox, options: Fixtures.Cpu);
        Assert.IsType<OnnxClassifier>(blackBox);
    }

    private static async Task<OipWhiteBoxClassifier> ConnectAsync(TestClassifierHost host, WhiteBoxRepository repository) =>
        Assert.IsType<OipWhiteBoxClassifier>(await OipClassifier.ConnectAsync(host.Channel, WhiteBoxRepository.WhiteBox, null, repository.Config, cancellationToken: Ct));

    private static async Task<float[]> ServedLogitsAsync(TestClassifierHost host, WhiteBoxRepository repository, ImageBatch images)
    {
        var response = await host.Client.ModelInferAsync(WhiteBoxServiceTests.Request(repository, WhiteBoxRepository.WhiteBox, images, ["logits"], null), cancellationToken: Ct);
        return OipTensors.ReadOutput(response, "logits").Floats;
    }
}
