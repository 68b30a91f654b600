using GrpcExplain.StyleGan.Training.Augmentation;
using static GrpcExplain.StyleGan.Tests.Training.Augmentation.AugmentTestData;

namespace GrpcExplain.StyleGan.Tests.Training.Augmentation;

/// <summary>
/// The vector-Jacobian product, transform by transform and all together. For a fixed draw every
/// transform is affine, f(x) = Jx + f(0), so Jx = f(x) − f(0) and the adjoint identity
/// ⟨Jx, y⟩ = ⟨x, Jᵀy⟩ (dots in float64) checks Backward against the forward itself; central
/// differences (f(x + εv) − f(x − εv))/2ε check it once more without using f(0).
/// </summary>
public sealed class AugmentVjpTests
{
    private const int Size = 10;

    /// <summary>One transform at a time, with parameters that exercise it (a shift of 4 reflects on a 10-pixel image; odd k and a flip).</summary>
    public static TheoryData<string, int> Transforms => new()
    {
        { "xflip", 1 }, { "xflip", 3 }, { "rot90 k=1", 3 }, { "rot90 k=2", 1 }, { "rot90 k=3", 3 },
        { "translate", 1 }, { "translate", 3 }, { "brightness", 3 }, { "contrast", 1 }, { "contrast", 3 },
        { "saturation", 3 }, { "all", 1 }, { "all", 3 },
    };

    private static SampleDraw[] DrawsFor(string transform) => transform switch
    {
        "xflip" => [SampleDraw.Identity with { XFlip = true }, SampleDraw.Identity],
        "rot90 k=1" => [SampleDraw.Identity with { Rotation = 1 }, SampleDraw.Identity with { Rotation = 1 }],
        "rot90 k=2" => [SampleDraw.Identity with { Rotation = 2 }, SampleDraw.Identity],
        "rot90 k=3" => [SampleDraw.Identity with { Rotation = 3 }, SampleDraw.Identity with { Rotation = 3 }],
        "translate" => [SampleDraw.Identity with { TranslateX = 4, TranslateY = -3 }, SampleDraw.Identity with { TranslateX = -9, TranslateY = 7 }],
        "brightness" => [SampleDraw.Identity with { Brightness = 0.3f }, SampleDraw.Identity with { Brightness = -0.2f }],
        "contrast" => [SampleDraw.Identity with { Contrast = 1.7f }, SampleDraw.Identity with { Contrast = 0.4f }],
        "saturation" => [SampleDraw.Identity with { Saturation = 2.5f }, SampleDraw.Identity with { Saturation = 0.3f }],
        "all" => [new SampleDraw(true, 3, -2, 5, 0.1f, 1.4f, 0.6f), new SampleDraw(false, 1, 6, -1, -0.3f, 0.7f, 1.8f)],
        _ => throw new ArgumentOutOfRangeException(nameof(transform)),
    };

    [Theory, MemberData(nameof(Transforms))]
    public void BackwardIsTheAdjointOfTheForward(string transform, int channels)
    {
        var draws = DrawsFor(transform);
        var (x, y) = (Images(draws.Length, channels, Size, 1), Images(draws.Length, channels, Size, 2));
        var offset = Augment(new float[x.Length], draws, channels).Images;
        var jx = Augment(x, draws, channels).Images.Select((v, i) => v - offset[i]).ToArray();
        var jty = Augment(x, draws, channels).Backward(y);

        double lhs = Dot(jx, y), rhs = Dot(x, jty);
        Assert.True(Math.Abs(lhs - rhs) <= 1e-5 * Scale(jx, y), $"{transform}, {channels} channels: <Jx, y> = {lhs}, <x, J^T y> = {rhs}");
        if (transform == "brightness") Assert.Equal(y, jty); // J = I
    }

    [Theory, MemberData(nameof(Transforms))]
    public void BackwardMatchesCentralDifferences(string transform, int channels)
    {
        var draws = DrawsFor(transform);
        var (x, v, y) = (Images(draws.Length, channels, Size, 3), Images(draws.Length, channels, Size, 4), Images(draws.Length, channels, Size, 5));
        const float eps = 0.05f; // affine: the difference is exact up to rounding, so a large step only reduces cancellation
        var plus = Augment([.. x.Select((a, i) => a + eps * v[i])], draws, channels).Images;
        var minus = Augment([.. x.Select((a, i) => a - eps * v[i])], draws, channels).Images;
        var jv = plus.Select((a, i) => (a - minus[i]) / (2.0f * eps)).ToArray();
        var jty = Augment(x, draws, channels).Backward(y);
        double fd = Dot(jv, y), vjp = Dot(v, jty);
        Assert.True(Math.Abs(fd - vjp) <= 1e-4 * Scale(jv, y), $"{transform}, {channels} channels: finite differences {fd}, VJP {vjp}");
    }

    private static AugmentedBatch Augment(float[] images, SampleDraw[] draws, int channels) =>
        AugmentedBatch.Forward(images, draws, draws.Length, channels, Size);

    /// <summary>The pipe's own random draws at P = 1, all transforms on, RGB and grey, a batch big enough to run in parallel.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void RandomDrawsPassTheAdjointTest(int channels)
    {
        const int n = 16, size = 32;
        var pipe = new AugmentPipe(new AugmentOptions()) { P = 1 };
        var x = Images(n, channels, size, 6);
        var y = Images(n, channels, size, 7);
        var batch = pipe.Apply(x, n, channels, size, seed: 99);
        var offset = pipe.Apply(new float[x.Length], n, channels, size, seed: 99).Images;
        var jx = batch.Images.Select((v, i) => v - offset[i]).ToArray();
        double lhs = Dot(jx, y), rhs = Dot(x, batch.Backward(y));
        Assert.True(Math.Abs(lhs - rhs) <= 1e-5 * Scale(jx, y), $"<Jx, y> = {lhs}, <x, J^T y> = {rhs}");
    }

    /// <summary>Column by column on a tiny image: Backward(e_o) is row o of J, compared with J's columns from the forward (J e_j).</summary>
    [Fact]
    public void JacobianRowsMatchColumnsOnATinyImage()
    {
        var draws = new[] { new SampleDraw(true, 1, 2, -1, 0.2f, 1.5f, 0.5f) };
        const int channels = 3, size = 4, len = channels * size * size;
        var zero = AugmentedBatch.Forward(new float[len], draws, 1, channels, size);
        var j = new double[len, len]; // j[o, i] = d out[o] / d in[i]
        for (int i = 0; i < len; i++)
        {
            var e = new float[len];
            e[i] = 1;
            var col = AugmentedBatch.Forward(e, draws, 1, channels, size).Images;
            for (int o = 0; o < len; o++) j[o, i] = col[o] - zero.Images[o];
        }
        for (int o = 0; o < len; o++)
        {
            var e = new float[len];
            e[o] = 1;
            var row = zero.Backward(e);
            for (int i = 0; i < len; i++) Assert.True(Math.Abs(row[i] - j[o, i]) < 1e-5, $"J[{o}, {i}]: forward {j[o, i]}, backward {row[i]}");
        }
    }

    private static double Scale(float[] a, float[] b) => Math.Sqrt(Dot(a, a) * Dot(b, b));
}
