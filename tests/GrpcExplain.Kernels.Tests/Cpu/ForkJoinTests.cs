using GrpcExplain.Kernels.Cpu;

namespace GrpcExplain.Kernels.Tests.Cpu;

/// <summary>The CPU backend's spinning fork-join: every item once, errors surfaced, nested and concurrent loops served.</summary>
public class ForkJoinTests
{
    [Fact]
    public void RunsEveryItemOnceOverManyLoops()
    {
        using var team = new ForkJoin(3);
        for (int loop = 0; loop < 2000; loop++)
        {
            int count = loop % 37 + 1;
            var hits = new int[count];
            Assert.True(team.TryRun(count, i => Interlocked.Increment(ref hits[i])));
            Assert.All(hits, h => Assert.Equal(1, h));
            if (loop % 500 == 0) Thread.Sleep(5); // let the workers fall asleep and be woken
        }
    }

    [Fact]
    public void ThrowsTheBodysExceptionsAfterTheLoop()
    {
        using var team = new ForkJoin(2);
        int ran = 0;
        var e = Assert.Throws<AggregateException>(() => team.TryRun(10, i =>
        {
            Interlocked.Increment(ref ran);
            if (i == 3) throw new InvalidOperationException("item 3");
        }));
        Assert.Equal("item 3", Assert.Single(e.InnerExceptions).Message);
        Assert.Equal(10, ran);
        Assert.True(team.TryRun(4, _ => { })); // usable afterwards
    }

    [Fact]
    public void ANestedLoopIsRefusedSoTheCallerCanRunItElsewhere()
    {
        using var team = new ForkJoin(2);
        int refused = 0;
        Assert.True(team.TryRun(4, _ =>
        {
            if (!team.TryRun(2, _ => { })) Interlocked.Increment(ref refused);
        }));
        Assert.Equal(4, refused);
    }

    [Fact]
    public void ConcurrentCallersOfOneBackendGetCorrectResults()
    {
        using var cpu = new CpuBackend();
        var x = Enumerable.Range(0, 64 * 256).Select(i => (float)Math.Sin(i)).ToArray();
        var w = Enumerable.Range(0, 256 * 256).Select(i => (float)Math.Cos(i) / 16).ToArray();
        using var xt = cpu.Upload(x, new Shape(64, 256));
        using var wt = cpu.Upload(w, new Shape(256, 256));
        float[] Run()
        {
            using var y = cpu.Allocate(new Shape(64, 256));
            cpu.FullyConnectedForward(xt, wt, null, y, new FullyConnectedParams());
            return cpu.Download(y);
        }
        var expected = Run();
        Parallel.For(0, 8, _ =>
        {
            for (int k = 0; k < 20; k++) Assert.Equal(expected, Run());
        });
    }
}
