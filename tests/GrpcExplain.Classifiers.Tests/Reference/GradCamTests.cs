using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;

namespace GrpcExplain.Classifiers.Tests.Reference;

/// <summary>
/// Grad-CAM against a plain computation: the plain network's last activations A in double, and the
/// class logit's gradient with respect to them in closed form (global average pooling then fc make
/// ∂logit_c/∂A_k(i, j) = W_fc[c, k]·gain / f², the same at every location), upsampled by a bilinear
/// interpolation written out here from torch's align_corners=False definition.
/// </summary>
public class GradCamTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void MatchesThePlainComputation(int classIndex)
    {
        var config = TinyCnn.Rgb;
        var weights = TinyCnn.Weights(config, 21);
        var image = TinyCnn.Images(config, 1, 22);
        using var backend = Backends.Create("cpu");
        using var net = new ReferenceCnn(backend, weights);
        var map = net.GradCam(image, classIndex);

        var plain = PlainCnn.Of(weights);
        var (_, a) = plain.Forward(TinyCnn.ToDouble(image), 1);
        int k = config.FeatureChannels, f = config.FeatureResolution, r = config.ImgResolution;
        var fc = plain.Parameters["fc.weight"];
        var cam = new double[f * f];
        for (int ch = 0; ch < k; ch++)
        {
            double alpha = fc[classIndex * k + ch] / Math.Sqrt(k) / (f * f);
            for (int i = 0; i < f * f; i++) cam[i] += alpha * a[ch * f * f + i];
        }
        var up = new double[r * r];
        for (int y = 0; y < r; y++)
            for (int x = 0; x < r; x++) up[y * r + x] = Bilinear(cam.Select(v => Math.Max(v, 0)).ToArray(), f, (y + 0.5) * f / r - 0.5, (x + 0.5) * f / r - 0.5);
        double min = up.Min(), max = up.Max();
        Assert.True(max > min, "the test image gives a flat map; pick another seed");
        var expected = up.Select(v => (v - min) / (max - min)).ToArray();
        ReferenceCnnGradientTests.AssertClose(expected, map, 1e-5);
        Assert.Equal(0f, map.Min());
        Assert.Equal(1f, map.Max());
    }

    [Fact]
    public void AMapWithoutContrastIsZero()
    {
        var map = GradCamMap.Compute(new float[2 * 4], [-1f, -1f, -1f, -1f, 0f, 0f, 0f, 0f], 2, 2, 6);
        Assert.Equal(36, map.Length);
        Assert.All(map, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void UpsamplingKeepsConstantsAndIsExactAtPixelCentres()
    {
        Assert.All(GradCamMap.UpsampleBilinear([3, 3, 3, 3], 2, 5), v => Assert.Equal(3, v, 12));
        // 2 → 4: output pixel centres at 0.25 steps of the source, clamped at the edges (torch: [[1, 1.25, 1.75, 2], ...]).
        var up = GradCamMap.UpsampleBilinear([1, 2, 3, 4], 2, 4);
        Assert.Equal([1, 1.25, 1.75, 2], up[..4]);
        Assert.Equal([3, 3.25, 3.75, 4], up[12..]);
        Assert.Throws<ArgumentException>(() => GradCamMap.Compute(new float[3], new float[4], 1, 2, 4));
    }

    private static double Bilinear(double[] m, int f, double sy, double sx)
    {
        double Clamp(double v) => Math.Clamp(v, 0, f - 1);
        sy = Clamp(sy);
        sx = Clamp(sx);
        int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
        int y1 = Math.Min(y0 + 1, f - 1), x1 = Math.Min(x0 + 1, f - 1);
        double ty = sy - y0, tx = sx - x0;
        return (1 - ty) * ((1 - tx) * m[y0 * f + x0] + tx * m[y0 * f + x1]) + ty * ((1 - tx) * m[y1 * f + x0] + tx * m[y1 * f + x1]);
    }
}
