using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

public class StyleMixingTests
{
    private const int N = 3, NumWs = 6, WDim = 2;

    private static float[] Ws(float offset) => [.. Enumerable.Range(0, N * NumWs * WDim).Select(i => offset + i)];

    [Fact]
    public void MixedWsTakeTheSecondZsLayersFromTheCutoffOn()
    {
        var mixed = StyleMixing.Mix(Ws(0), Ws(1000), N, NumWs, WDim, cutoff: 4);
        for (int s = 0; s < N; s++)
            for (int l = 0; l < NumWs; l++)
                for (int j = 0; j < WDim; j++)
                {
                    int i = (s * NumWs + l) * WDim + j;
                    Assert.Equal(l < 4 ? i : 1000 + i, mixed[i]);
                }
        Assert.Equal(Ws(0), StyleMixing.Mix(Ws(0), Ws(1000), N, NumWs, WDim, cutoff: NumWs));
    }

    [Fact]
    public void GradientSplitsAtTheCutoffAndSumsBack()
    {
        var dWs = Ws(0.5f);
        var (first, second) = StyleMixing.Split(dWs, N, NumWs, WDim, cutoff: 2);
        for (int s = 0; s < N; s++)
            for (int l = 0; l < NumWs; l++)
                for (int j = 0; j < WDim; j++)
                {
                    int i = (s * NumWs + l) * WDim + j;
                    Assert.Equal(l < 2 ? dWs[i] : 0, first[i]);
                    Assert.Equal(l < 2 ? 0 : dWs[i], second[i]);
                }
    }

    /// <summary>As run_G: the cutoff is uniform in [1, num_ws) when mixing, num_ws (nothing mixed) otherwise, with the given probability.</summary>
    [Fact]
    public void CutoffIsUniformBelowNumWsWithTheMixingProbability()
    {
        var random = new Random(3);
        var counts = new int[NumWs + 1];
        const int Trials = 20000;
        for (int t = 0; t < Trials; t++) counts[StyleMixing.Cutoff(random, NumWs, 0.9)]++;
        Assert.Equal(0, counts[0]);
        Assert.Equal(0.1, counts[NumWs] / (double)Trials, 0.02); // num_ws: this minibatch is not mixed
        for (int c = 1; c < NumWs; c++) Assert.Equal(0.9 / (NumWs - 1), counts[c] / (double)Trials, 0.02);
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(NumWs, StyleMixing.Cutoff(random, NumWs, 0)));
    }

    [Fact]
    public void WrongShapesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => StyleMixing.Mix(Ws(0), new float[5], N, NumWs, WDim, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => StyleMixing.Split(Ws(0), N, NumWs, WDim, NumWs + 1));
    }
}
