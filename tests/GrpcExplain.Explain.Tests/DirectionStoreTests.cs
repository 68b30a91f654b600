using GrpcExplain.Explain.Directions;

namespace GrpcExplain.Explain.Tests;

public sealed class DirectionStoreTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("grpcexplain-directions-").FullName;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string DatabasePath => Path.Combine(_folder, "nested", "directions.db");

    private static DirectionKey Key(int targetClass = 1) => new("abc123", "tumour_cnn", "3", targetClass, DirectionKey.LinearProbe);

    private static ProbeResult Probe(float first) => new([first, 0.6f, 0f], 0.91, double.NaN, 800, 200, "the classifier's decision");

    [Fact]
    public void ADirectionSurvivesReopeningTheFile()
    {
        var stored = new DirectionStore(DatabasePath).Add(Key(), Probe(0.8f), new ProbeSettings(NumSamples: 1000, Seed: 9));

        var reopened = new DirectionStore(DatabasePath);
        var found = reopened.Find(Key());
        Assert.NotNull(found);
        Assert.Equal(stored.Id, found.Id);
        Assert.Equal(Key(), found.Key);
        Assert.Equal([0.8f, 0.6f, 0f], found.Vector);
        Assert.Equal(0.91, found.Probe.HeldOutAccuracy);
        Assert.True(double.IsNaN(found.Probe.HeldOutAuc));
        Assert.Equal((800, 200), (found.Probe.NumTrain, found.Probe.NumHeldOut));
        Assert.Equal(new ProbeSettings(NumSamples: 1000, Seed: 9), found.Settings);
        Assert.True(Math.Abs((found.CreatedUtc - stored.CreatedUtc).TotalMilliseconds) < 1);
        Assert.Equal(stored.Id, reopened.Get(stored.Id)?.Id);
        Assert.Null(reopened.Find(Key(targetClass: 0)));
        Assert.Null(reopened.Get("no-such-id"));
    }

    [Fact]
    public void ARefitBecomesCurrentAndTheOldIdStaysValid()
    {
        var store = new DirectionStore(DatabasePath);
        var first = store.Add(Key(), Probe(0.8f), new ProbeSettings());
        var second = store.Add(Key(), Probe(-0.8f), new ProbeSettings(Seed: 1));
        Assert.Equal(second.Id, store.Find(Key())!.Id);
        Assert.Equal(0.8f, store.Get(first.Id)!.Vector[0]);
    }

    [Fact]
    public async Task ConcurrentWritersAndReadersShareTheFile()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => new DirectionStore(DatabasePath)).ToArray();
        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
        {
            var store = stores[i % stores.Length];
            var added = store.Add(Key(i % 3), Probe(i), new ProbeSettings(Seed: i));
            Assert.NotNull(store.Find(Key(i % 3)));
            return added.Id;
        }, Ct)));
        Assert.Equal(40, ids.Distinct().Count());
        Assert.All(ids, id => Assert.NotNull(stores[0].Get(id)));
    }

    [Fact]
    public async Task ConcurrentRequestsForOneDirectionFitItOnce()
    {
        var d = TestVectors.Unit(3, LinearGenerator.WDim);
        var classifier = new DirectionClassifier(d);
        var probes = new LinearProbeDirections(new DirectionStore(DatabasePath));
        var settings = new ProbeSettings(NumSamples: 100);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            probes.GetOrFitAsync(new LinearGenerator(), classifier, 1, settings, refit: false, progress: null, Ct)));
        Assert.Single(results.Select(r => r.Direction.Id).Distinct());
        Assert.Equal(1, results.Count(r => r.Fitted));
        Assert.Equal(100, classifier.ImagesClassified);

        // Across a restart (a new store on the same file) the direction is found, not fitted again.
        var again = await new LinearProbeDirections(new DirectionStore(DatabasePath)).GetOrFitAsync(new LinearGenerator(), classifier, 1, settings, false, null, Ct);
        Assert.False(again.Fitted);
        Assert.Equal(results[0].Direction.Id, again.Direction.Id);
        var refit = await probes.GetOrFitAsync(new LinearGenerator(), classifier, 1, settings, refit: true, progress: null, Ct);
        Assert.True(refit.Fitted);
        Assert.NotEqual(again.Direction.Id, refit.Direction.Id);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
