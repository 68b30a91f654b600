using GrpcExplain.Training.Classifier;

namespace GrpcExplain.Training.Tests.Classifier;

public class ClassifierPartsTests
{
    [Fact]
    public void RocAucIsTheMannWhitneyStatistic()
    {
        Assert.Equal(1.0, RocAuc.Compute([0.1f, 0.2f, 0.8f, 0.9f], [false, false, true, true]));
        Assert.Equal(0.0, RocAuc.Compute([0.9f, 0.8f, 0.2f, 0.1f], [false, false, true, true]));
        Assert.Equal(0.5, RocAuc.Compute([0.5f, 0.5f, 0.5f, 0.5f], [false, true, false, true]));
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75; with a tie between classes, 0.625.
        Assert.Equal(0.75, RocAuc.Compute([0.1f, 0.4f, 0.35f, 0.8f], [false, false, true, true]), 12);
        Assert.Equal(0.625, RocAuc.Compute([0.1f, 0.4f, 0.4f, 0.3f], [false, false, true, true]), 12);
        Assert.True(double.IsNaN(RocAuc.Compute([0.1f, 0.2f], [true, true])));
        Assert.Throws<ArgumentException>(() => RocAuc.Compute([0.1f], [true, false]));

        // Two classes: class 1's probability. Three: the mean of one-against-the-rest.
        Assert.Equal(1.0, RocAuc.FromProbabilities([0.9f, 0.1f, 0.2f, 0.8f], [0, 1], 2));
        float[] three = [0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.1f, 0.8f];
        Assert.Equal(1.0, RocAuc.FromProbabilities(three, [0, 1, 2], 3));
    }

    [Fact]
    public void TheEightSymmetriesAreDistinctPermutationsAndQuarterTurnsCompose()
    {
        const int r = 5;
        float[] source = [.. Enumerable.Range(0, r * r).Select(i => (float)i)];
        var images = new List<float[]>();
        for (int d = 0; d < 8; d++)
        {
            var t = new float[r * r];
            ClassifierAugmenter.Symmetry(source, t, r, d);
            Assert.Equal(source.Order(), t.Order());
            images.Add(t);
        }
        Assert.Equal(source, images[0]);
        Assert.Equal(8, images.Select(i => string.Join(",", i)).Distinct().Count());
        // Four quarter turns are the identity; two are the half turn.
        var x = source;
        for (int k = 0; k < 4; k++)
        {
            var y = new float[r * r];
            ClassifierAugmenter.Symmetry(x, y, r, 1);
            x = y;
            if (k == 1) Assert.Equal(images[2], x);
        }
        Assert.Equal(source, x);
        // d = 4 is the horizontal flip: row 0 reversed.
        Assert.Equal([4f, 3f, 2f, 1f, 0f], images[4][..5]);
    }

    [Fact]
    public void FlipAndTranslateNeverTurnAnXRayUpsideDown()
    {
        const int r = 32;
        // Each row holds its own index: whatever the draw, rows may shift by at most r/16 and never reverse.
        float[] image = [.. Enumerable.Range(0, r * r).Select(i => (float)(i / r))];
        var batch = Enumerable.Range(0, 20).SelectMany(_ => image).ToArray();
        ClassifierAugmenter.Apply(ClassifierAugmentation.FlipTranslate, batch, 20, 1, r, new Random(3));
        for (int b = 0; b < 20; b++)
            for (int y = 0; y < r; y++)
            {
                float v = batch[b * r * r + y * r];
                Assert.InRange(v, Math.Max(0, y - 2), Math.Min(r - 1, y + 2));
                Assert.All(batch.AsSpan(b * r * r + y * r, r).ToArray(), p => Assert.Equal(v, p));
            }
        var untouched = (float[])batch.Clone();
        ClassifierAugmenter.Apply(ClassifierAugmentation.None, batch, 20, 1, r, new Random(3));
        Assert.Equal(untouched, batch);
        Assert.Throws<ArgumentException>(() => ClassifierAugmenter.Apply(ClassifierAugmentation.Dihedral, new float[10], 1, 1, r, new Random(1)));
    }

    [Fact]
    public void DihedralDrawsAllEightSymmetriesAndKeepsChannelsTogether()
    {
        const int r = 4;
        float[] rgb = [.. Enumerable.Range(0, 3 * r * r).Select(i => (float)i)];
        var seen = new HashSet<string>();
        var random = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            var x = (float[])rgb.Clone();
            ClassifierAugmenter.Apply(ClassifierAugmentation.Dihedral, x, 1, 3, r, random);
            // The same symmetry on every channel: channel c is channel 0 plus c·16.
            for (int c = 1; c < 3; c++) Assert.Equal(x[..16].Select(v => v + c * 16), x[(c * 16)..((c + 1) * 16)]);
            seen.Add(string.Join(",", x[..16]));
        }
        Assert.Equal(8, seen.Count);
    }
}
