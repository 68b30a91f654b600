using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;

namespace GrpcExplain.Classifiers.Tests.Reference;

/// <summary>
/// The network on the CPU backend against <see cref="PlainCnn"/> in double: logits, and the backward
/// pass's parameter and image gradients against central finite differences of the plain network.
/// </summary>
public class ReferenceCnnGradientTests
{
    public static TheoryData<string> Configs => ["rgb", "grey-single"];

    private static ReferenceCnnConfig ConfigOf(string name) => name == "rgb" ? TinyCnn.Rgb : TinyCnn.GreySingle;

    [Theory]
    [MemberData(nameof(Configs))]
    public void LogitsMatchThePlainNetwork(string name)
    {
        var config = ConfigOf(name);
        var weights = TinyCnn.Weights(config, 1);
        var images = TinyCnn.Images(config, 3, 2);
        using var backend = Backends.Create("cpu");
        using var net = new ReferenceCnn(backend, weights);
        var expected = PlainCnn.Of(weights).Forward(TinyCnn.ToDouble(images), 3).Logits;
        AssertClose(expected, net.Logits(images, 3), 1e-5);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void ParameterGradientsMatchFiniteDifferences(string name)
    {
        var config = ConfigOf(name);
        var weights = TinyCnn.Weights(config, 3);
        var images = TinyCnn.Images(config, 2, 4);
        var dLogits = Random(2 * config.ClassCount, 5);
        using var backend = Backends.Create("cpu");
        using var net = new ReferenceCnn(backend, weights);
        using var pass = net.Record(images, 2);
        var g = pass.Backward([.. dLogits.Select(v => (float)v)], parameters: true, images: false);
        Assert.Null(g.Images);

        var plain = PlainCnn.Of(weights);
        var x = TinyCnn.ToDouble(images);
        Assert.Equal(config.ParameterShapes().Select(p => p.Name).Order(), g.Parameters!.Keys.Order());
        foreach (var (pname, _) in config.ParameterShapes())
        {
            var p = plain.Parameters[pname];
            var fd = new double[p.Length];
            for (int i = 0; i < p.Length; i++)
                fd[i] = Central(v => { p[i] = v; return plain.Objective(x, 2, dLogits); }, p[i]);
            AssertClose(fd, g.Parameters[pname], 1e-3, pname);
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void ImageGradientsMatchFiniteDifferences(string name)
    {
        var config = ConfigOf(name);
        var weights = TinyCnn.Weights(config, 6);
        var images = TinyCnn.Images(config, 2, 7);
        var dLogits = Random(2 * config.ClassCount, 8);
        using var backend = Backends.Create("cpu");
        using var net = new ReferenceCnn(backend, weights);
        using var pass = net.Record(images, 2);
        var g = pass.Backward([.. dLogits.Select(v => (float)v)], parameters: false, images: true);
        Assert.Null(g.Parameters);

        var plain = PlainCnn.Of(weights);
        var x = TinyCnn.ToDouble(images);
        var fd = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
            fd[i] = Central(v => { x[i] = v; return plain.Objective(x, 2, dLogits); }, x[i]);
        AssertClose(fd, g.Images!, 1e-3, "images");
    }

    [Fact]
    public void LogitGradientIsEachImagesOwnClassLogitGradient()
    {
        var config = TinyCnn.Rgb;
        var weights = TinyCnn.Weights(config, 9);
        var images = TinyCnn.Images(config, 2, 10);
        using var backend = Backends.Create("cpu");
        using var net = new ReferenceCnn(backend, weights);
        var (logits, gradient) = net.LogitGradient(images, 2, classIndex: 2);
        Assert.Equal(net.Logits(images, 2), logits);

        // Image 1 alone: its gradient must not depend on image 0 being in the batch.
        int len = net.ImageLength;
        var (_, alone) = net.LogitGradient(images[len..], 1, 2);
        AssertClose(TinyCnn.ToDouble(alone), gradient[len..], 1e-6);

        // Against finite differences of logit 2 of image 0 in the plain network.
        var plain = PlainCnn.Of(weights);
        var x = TinyCnn.ToDouble(images[..len]);
        double[] pick = [0, 0, 1];
        var fd = new double[len];
        for (int i = 0; i < len; i++) fd[i] = Central(v => { x[i] = v; return plain.Objective(x, 1, pick); }, x[i]);
        AssertClose(fd, gradient[..len], 1e-3);
    }

    [Fact]
    public void TheIlgpuKernelsGiveTheSameLogitsAndGradients()
    {
        // ILGPU's CPU accelerator runs the kernels a GPU runs (slowly: a tiny network only).
        var weights = TinyCnn.Weights(TinyCnn.Rgb, 11);
        var images = TinyCnn.Images(TinyCnn.Rgb, 2, 12);
        float[] dLogits = [0.5f, -1f, 0.25f, 1f, 0f, -0.5f];
        ReferenceCnnGradients Run(string backendName, out float[] logits)
        {
            using var backend = Backends.Create(backendName);
            using var net = new ReferenceCnn(backend, weights);
            using var pass = net.Record(images, 2);
            logits = pass.Logits;
            return pass.Backward(dLogits);
        }
        var cpu = Run("cpu", out var cpuLogits);
        var ilgpu = Run("ilgpu-cpu", out var ilgpuLogits);
        AssertClose(TinyCnn.ToDouble(cpuLogits), ilgpuLogits, 1e-5);
        AssertClose(TinyCnn.ToDouble(cpu.Images!), ilgpu.Images!, 1e-5, "images");
        foreach (var (name, g) in cpu.Parameters!) AssertClose(TinyCnn.ToDouble(g), ilgpu.Parameters![name], 1e-5, name);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        using var backend = Backends.Create("cpu");
        using var net = new ReferenceCnn(backend, TinyCnn.Weights(TinyCnn.Rgb, 1));
        var e = Assert.Throws<ArgumentException>(() => net.Logits(new float[10], 1));
        Assert.Contains("192 values for 1 images of 3x8x8", e.Message);
        var nan = TinyCnn.Images(TinyCnn.Rgb, 2, 1);
        nan[200] = float.NaN;
        Assert.Contains("Image 1", Assert.Throws<ArgumentException>(() => net.Logits(nan, 2)).Message);
        var c = Assert.Throws<ArgumentOutOfRangeException>(() => net.LogitGradient(TinyCnn.Images(TinyCnn.Rgb, 1, 1), 1, 3));
        Assert.Contains("classes 0 to 2 (a, b, c)", c.Message);
        using var pass = net.Record(TinyCnn.Images(TinyCnn.Rgb, 2, 1), 2);
        Assert.Contains("dLogits holds 3 values", Assert.Throws<ArgumentException>(() => pass.Backward(new float[3])).Message);
        Assert.Throws<ArgumentException>(() => net.SetParameters(new Dictionary<string, float[]> { ["conv9.weight"] = [1f] }));
    }

    [Fact]
    public void SoftmaxCrossEntropyGradientMatchesFiniteDifferences()
    {
        float[] logits = [2f, -1f, 0.5f, 0f, 3f, -2f];
        int[] labels = [0, 2];
        var (loss, d) = SoftmaxCrossEntropy.Compute(logits, labels, 3);
        double Loss(float[] l) => SoftmaxCrossEntropy.Compute(l, labels, 3).Loss;
        Assert.Equal(Expected(), loss, 1e-9);
        for (int i = 0; i < logits.Length; i++)
        {
            var up = (float[])logits.Clone();
            var down = (float[])logits.Clone();
            up[i] += 1e-2f;
            down[i] -= 1e-2f;
            Assert.Equal((Loss(up) - Loss(down)) / 2e-2, d[i], 1e-4);
        }
        var p = SoftmaxCrossEntropy.Probabilities(logits, 3);
        Assert.Equal(1.0, p[0] + p[1] + p[2], 1e-6);
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Compute(logits, [0, 3], 3));

        double Expected()
        {
            double Row(int b, int label) => Math.Log(Enumerable.Range(0, 3).Sum(j => Math.Exp(logits[b * 3 + j]))) - logits[b * 3 + label];
            return (Row(0, 0) + Row(1, 2)) / 2;
        }
    }

    internal static double Central(Func<double, double> f, double at, double eps = 1e-5)
    {
        double up = f(at + eps), down = f(at - eps);
        f(at);
        return (up - down) / (2 * eps);
    }

    private static double[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1)];
    }

    /// <summary>|actual − expected| ≤ tol·(1 + max|expected|), naming the first element that is not.</summary>
    internal static void AssertClose(double[] expected, float[] actual, double tol, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1 + expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol * scale, $"{what}[{i}]: expected {expected[i]:G9}, got {actual[i]:G9}");
    }
}
