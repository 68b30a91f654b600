using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

public class GanTrainingTests
{
    /// <summary>Snapshots and log lines fall on the first minibatch at or past each multiple of their interval, whatever the batch.</summary>
    [Theory]
    [InlineData(16, 1.0, new long[] { 63, 125, 188 })] // 1008, 2000, 3008 images
    [InlineData(4, 0.016, new long[] { 4, 8, 12 })]
    [InlineData(32, 0.25, new long[] { 8, 16, 24 })]
    [InlineData(12, 0.1, new long[] { 9, 17, 25 })] // 108, 204, 300
    public void IntervalsAreCrossedByTheFirstMinibatchPastThem(int batch, double intervalKimg, long[] expected)
    {
        var steps = Enumerable.Range(1, 200).Select(s => (long)s).Where(s => GanTraining.Crossed(s * batch, batch, intervalKimg)).Take(3);
        Assert.Equal(expected, steps);
    }

    [Fact]
    public void GridsAreNamedByWholeKimg() =>
        Assert.Equal(Path.Combine("RUN", "samples", "kimg000012.png"), GanTraining.GridPath("RUN", 12_999));
}
