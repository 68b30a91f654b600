using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Tests.Data;

public sealed class MinibatchSamplerTests
{
    [Fact]
    public void EachEpochIsAPermutationDrawnFromSeedAndEpochAlone()
    {
        var sampler = new MinibatchSampler(100, 8, seed: 7);
        int[] e0 = sampler.Permutation(0);
        Assert.Equal(Enumerable.Range(0, 100), e0.Order());
        Assert.Equal(e0, new MinibatchSampler(100, 8, seed: 7).Permutation(0));
        Assert.NotEqual(e0, sampler.Permutation(1));
        Assert.NotEqual(e0, new MinibatchSampler(100, 8, seed: 8).Permutation(0));
        Assert.NotEqual(Enumerable.Range(0, 100), e0);
    }

    [Fact]
    public void BatchesCoverTheEpochWithOrWithoutTheShortLastOne()
    {
        var drop = new MinibatchSampler(10, 4, seed: 1);
        var batches = drop.Epoch(3).ToList();
        Assert.Equal(2, drop.BatchesPerEpoch);
        Assert.Equal(2, batches.Count);
        Assert.All(batches, b => Assert.Equal(4, b.Length));
        Assert.Equal(drop.Permutation(3)[..8], batches.SelectMany(b => b));

        var keep = new MinibatchSampler(10, 4, seed: 1, dropLast: false);
        var all = keep.Epoch(3).ToList();
        Assert.Equal([4, 4, 2], all.Select(b => b.Length));
        Assert.Equal(Enumerable.Range(0, 10), all.SelectMany(b => b).Order());
    }

    [Fact]
    public void RefusesBatchesThatCannotBeMade()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MinibatchSampler(3, 4, seed: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MinibatchSampler(0, 1, seed: 0));
        Assert.Single(new MinibatchSampler(3, 4, seed: 0, dropLast: false).Epoch(0));
    }
}
