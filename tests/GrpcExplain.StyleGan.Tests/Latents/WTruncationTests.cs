using GrpcExplain.StyleGan.Latents;

namespace GrpcExplain.StyleGan.Tests.Latents;

public sealed class WTruncationTests
{
    private static readonly float[] WAvg = [1f, -1f];

    [Fact]
    public void PsiOneLeavesLatentsAlone()
    {
        float[] w = [3f, 4f];
        Assert.Same(w, WTruncation.Apply(w, batch: 1, layers: 1, numWs: 4, WAvg, psi: 1f, cutoff: 2, out int layers));
        Assert.Equal(1, layers);
    }

    [Fact]
    public void EveryLayerMovesTowardsTheAverage()
    {
        var ws = WTruncation.Apply([3f, 3f, 5f, -5f], batch: 2, layers: 1, numWs: 4, WAvg, psi: 0.5f, cutoff: null, out int layers);
        Assert.Equal([2f, 1f, 3f, -3f], ws);
        Assert.Equal(1, layers);
    }

    [Fact]
    public void CutoffBroadcastsOneWAndTruncatesOnlyTheFirstLayers()
    {
        var ws = WTruncation.Apply([3f, 3f], batch: 1, layers: 1, numWs: 3, WAvg, psi: 0f, cutoff: 2, out int layers);
        Assert.Equal(3, layers);
        Assert.Equal([1f, -1f, 1f, -1f, 3f, 3f], ws);
    }

    [Fact]
    public void LerpUsesTorchsTwoFormulas()
    {
        // For weight >= 0.5 torch computes end - (end - start)·(1 - weight); the two round differently.
        Assert.Equal(0.3f - (0.3f - 0.1f) * (1f - 0.7f), WTruncation.Lerp(0.1f, 0.3f, 0.7f));
        Assert.Equal(0.1f + 0.2f * (0.3f - 0.1f), WTruncation.Lerp(0.1f, 0.3f, 0.2f));
        Assert.Equal(0.3f - (0.3f - 0.1f) * (1f - -0.7f), WTruncation.Lerp(0.1f, 0.3f, -0.7f));
    }
}
