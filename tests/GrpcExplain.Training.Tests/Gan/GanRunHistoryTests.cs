using GrpcExplain.Training.Gan;

namespace GrpcExplain.Training.Tests.Gan;

public sealed class GanRunHistoryTests : IDisposable
{
    private readonly string _run = Directory.CreateTempSubdirectory("gan-history-").FullName;

    public void Dispose() => Directory.Delete(_run, recursive: true);

    /// <summary>
    /// The lines as the run writes them come back; a last line a killed process left half written is
    /// skipped; an FID measured twice at one step (an end-of-run FID repeated) counts once, the last.
    /// </summary>
    [Fact]
    public void TheRunsLinesAreReadBackSkippingAHalfWrittenOneAndRepeatedMeasurements()
    {
        File.WriteAllText(Path.Combine(_run, GanTraining.LogFile),
            """
            {"step":4,"kimg":0.064,"images_per_second":12.5,"generator_loss":0.7,"discriminator_loss":1.3,"r1_penalty":null,"augment_p":0,"ada_rt":null,"wall_seconds":5.1,"time":"2026-11-26T15:00:00Z"}
            {"step":8,"kimg":0.128,"images_per_second":13,"generator_loss":0.9,"discriminator_loss":1.2,"r1_penalty":0.5,"augment_p":0.01,"ada_rt":0.6,"wall_seconds":10.2,"time":"2026-11-26T15:00:05Z"}
            {"step":12,"kimg":0.19
            """);
        File.WriteAllText(Path.Combine(_run, GanTraining.FidLogFile),
            """
            {"step":8,"kimg":0.128,"fid":410.5,"floor":10.7,"generated_images":1000,"wall_seconds":11,"time":"2026-11-26T15:00:06Z"}
            {"step":4,"kimg":0.064,"fid":500.25,"floor":10.7,"generated_images":1000,"wall_seconds":6,"time":"2026-11-26T15:00:01Z"}
            {"step":8,"kimg":0.128,"fid":410.75,"floor":10.7,"generated_images":1000,"wall_seconds":12,"time":"2026-11-26T15:00:07Z"}

            """);
        var history = GanRunHistory.Read(_run);

        Assert.Equal([4L, 8L], history.Log.Select(e => e.Step));
        Assert.Equal((0.9, 1.2, 0.5, 0.01), (history.Log[1].GeneratorLoss, history.Log[1].DiscriminatorLoss, history.Log[1].R1Penalty, history.Log[1].AugmentP));
        Assert.Null(history.Log[0].R1Penalty);
        Assert.Equal([(4L, 500.25), (8L, 410.75)], history.Fid.Select(e => (e.Step, e.Fid)));
        Assert.Equal(10.7, history.Fid[0].Floor);
    }

    [Fact]
    public void ARunWithoutLogsHasAnEmptyHistory()
    {
        var history = GanRunHistory.Read(_run);
        Assert.Empty(history.Log);
        Assert.Empty(history.Fid);
    }
}
