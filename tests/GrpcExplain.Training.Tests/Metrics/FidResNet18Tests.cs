using GrpcExplain.Training.Data;
using GrpcExplain.Training.Metrics;
using GrpcExplain.Training.Tests.Data;

namespace GrpcExplain.Training.Tests.Metrics;

/// <summary>The ResNet18 graphs are the package's, copied into this output folder by its build props.</summary>
public sealed class FidResNet18Tests : IClassFixture<FidResNet18Tests.Model>
{
    public sealed class Model : IDisposable
    {
        public FidResNet18 Net { get; } = FidResNet18.Load();

        public void Dispose() => Net.Dispose();
    }

    private readonly FidResNet18 _net;

    public FidResNet18Tests(Model model) => _net = model.Net;

    private static byte[] Planes(int channels, int resolution, int seed)
    {
        var rng = new Random(seed);
        var planes = new byte[channels * resolution * resolution];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < resolution; y++)
                for (int x = 0; x < resolution; x++)
                    planes[(c * resolution + y) * resolution + x] = (byte)Math.Clamp(128 + 90 * Math.Sin((x + 2 * c + seed) * 0.3) * Math.Cos(y * 0.2) + rng.Next(-20, 20), 0, 255);
        return planes;
    }

    [Fact]
    public void FeaturesAre512NonNegativeAndDeterministic()
    {
        byte[] image = Planes(3, 32, seed: 1);
        float[] a = _net.Features(image, 3, 32);
        Assert.Equal(FidResNet18.FeatureDimension, a.Length);
        Assert.All(a, v => Assert.True(float.IsFinite(v) && v >= 0));
        Assert.Contains(a, v => v > 0);
        Assert.Equal(a, _net.Features(image, 3, 32));
        Assert.NotEqual(a, _net.Features(Planes(3, 32, seed: 2), 3, 32));
    }

    [Fact]
    public void GreyIsTheSameAsRgbWithTheValueRepeated()
    {
        byte[] grey = Planes(1, 24, seed: 4);
        byte[] rgb = [.. grey, .. grey, .. grey];
        Assert.Equal(_net.Features(rgb, 3, 24), _net.Features(grey, 1, 24));
    }

    [Fact]
    public void TensorsInMinusOneToOneGoThroughUint8()
    {
        byte[] planes = Planes(3, 16, seed: 5);
        var tensor = new float[planes.Length];
        Preprocess.ToFloat(planes, tensor);
        Assert.Equal(_net.Features(planes, 3, 16), _net.FeaturesOfTensor(tensor, 3, 16));
    }

    [Fact]
    public void InputIsRgbPlanesIn0To255At224()
    {
        byte[] planes = Planes(3, 224, seed: 6);
        float[] input = FidResNet18.ToInput(planes, 3, 224);
        Assert.Equal(planes.Select(b => (float)b), input);
        float[] up = FidResNet18.ToInput([10, 20, 30], 3, 1);
        Assert.Equal(3 * 224 * 224, up.Length);
        Assert.Equal((10f, 20f, 30f), (up[0], up[224 * 224], up[2 * 224 * 224 + 500]));
    }

    [Fact]
    public void StatisticsAndReportOnSyntheticSets()
    {
        using var files = new SyntheticImages();
        for (int i = 0; i < 8; i++)
        {
            using var image = SyntheticImages.Rgb(20, 20, seed: 17 * i);
            files.Save(image, "data", i < 5 ? "train" : "val", "0", $"{i}.png");
        }
        var options = new PreprocessOptions(16, 3, CropMode.CenterCrop);
        var ct = TestContext.Current.CancellationToken;
        var train = PackedCache.OpenOrBuild(ImageFolderDataset.Open(Path.Combine(files.Root, "data"), "train"), options, Path.Combine(files.Root, "train.pack"), null, ct);
        var val = PackedCache.OpenOrBuild(ImageFolderDataset.Open(Path.Combine(files.Root, "data"), "val"), options, Path.Combine(files.Root, "val.pack"), null, ct);
        var reported = new List<int>();
        var trainStats = _net.Statistics(train, progress: new Progress(reported.Add), cancellationToken: ct);
        Assert.Equal((5, 512), (trainStats.Count, trainStats.Dimension));
        Assert.Equal([5], reported);
        var valStats = _net.Statistics(val, cancellationToken: ct);

        // "Generated" images: the training images themselves, as [-1, 1] tensors.
        var tensors = new float[5 * options.ImageBytes];
        var labels = new int[5];
        train.FillBatch([0, 1, 2, 3, 4], tensors, labels);
        var generated = _net.StatisticsOfTensors(tensors, 5, 3, 16, cancellationToken: ct);
        var report = FidReport.Compute(trainStats, valStats, generated);
        Assert.Equal(0, report.Fid, 1e-3);
        Assert.True(report.Floor > 0.1, $"floor {report.Floor}");
        Assert.Equal((5, 5, 3), (report.GeneratedCount, report.TrainCount, report.ValidationCount));
        Assert.Contains("floor", report.ToString(), StringComparison.Ordinal);
        Assert.Equal(Fid.Compute(valStats, trainStats), report.Floor);
    }

    [Fact]
    public void AMissingModelFolderSaysWhereToGetIt()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FidResNet18.Load(Path.Combine(Path.GetTempPath(), "no-such-models")));
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", e.Message, StringComparison.Ordinal);
    }

    private sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
