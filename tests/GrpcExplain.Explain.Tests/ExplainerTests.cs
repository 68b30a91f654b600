using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Directions;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Explain.HeatMaps;
using GrpcExplain.Explain.Walks;

namespace GrpcExplain.Explain.Tests;

public sealed class ExplainerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("grpcexplain-explainer-").FullName;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly float[] D = TestVectors.Unit(11, LinearGenerator.WDim);

    private Explainer Create(LinearGenerator generator) =>
        new(generator, generator, new LinearProbeDirections(new DirectionStore(Path.Combine(_folder, "d.db"))), new ExplainerSettings(BlackBoxProbes: 24, BlackBoxRadius: 0.5f));

    /// <summary>An input whose latent sits at d·w = <paramref name="along"/>: class "away" for negative values.</summary>
    private static ImageBatch Input(float along)
    {
        var other = TestVectors.Unit(12, LinearGenerator.WDim);
        double dot = other.Zip(D, (a, b) => (double)a * b).Sum();
        var w = other.Select((v, j) => (float)(v - dot * D[j] + along * D[j])).ToArray();
        return new ImageBatch([.. w.Select(v => v * LinearGenerator.Gain)], 1, 1, LinearGenerator.Resolution, LinearGenerator.Resolution);
    }

    private static ExplainJob Job(DirectionMethod method, WalkPlan walk, bool wPlus = false) =>
        new(Input(-1f), 1, method, walk, new ProjectionOptions(WPlus: wPlus), new ProbeSettings(NumSamples: 300));

    [Theory]
    [InlineData(DirectionMethod.LinearProbe, false)]
    [InlineData(DirectionMethod.Gradient, false)]
    [InlineData(DirectionMethod.Gradient, true)]
    [InlineData(DirectionMethod.BlackBoxGradientEstimate, true)]
    public async Task TheStreamComesInOrderAndItsFramesMoveTheTargetProbabilityUp(DirectionMethod method, bool wPlus)
    {
        var events = await Create(new LinearGenerator()).ExplainAsync(Job(method, new AlphaRangeWalk(-2, 4, 7), wPlus), new DirectionClassifier(D), Ct).ToListAsync(Ct);

        string[] order = [nameof(OriginalPredicted), nameof(ProjectionProgressed), nameof(ProjectionProgressed), nameof(Reconstructed), nameof(DirectionChosen),
            .. Enumerable.Repeat(nameof(FrameMade), 7), nameof(HeatMapMade), nameof(Summarised)];
        Assert.Equal(order, events.Select(e => e.GetType().Name));
        var original = Assert.IsType<OriginalPredicted>(events[0]).Prediction;
        Assert.Equal(0, original.PredictedClass);
        var reconstruction = Assert.IsType<Reconstructed>(events[3]);
        Assert.Null(reconstruction.Warning);
        Assert.Equal(wPlus, reconstruction.Projection.Ws.IsWPlus);
        var direction = Assert.IsType<DirectionChosen>(events[4]);
        Assert.Equal(method, direction.Method);
        Assert.Equal(method == DirectionMethod.LinearProbe, direction.Stored is not null);

        var frames = events.OfType<FrameMade>().Select(f => f.Frame).ToList();
        Assert.Equal([-2f, -1f, 0f, 1f, 2f, 3f, 4f], frames.Select(f => f.Alpha));
        Assert.Equal(Enumerable.Range(0, 7), frames.Select(f => f.Index));
        var p = frames.Select(f => f.Prediction.Probability(1)).ToList();
        for (int i = 1; i < p.Count; i++) Assert.True(p[i] > p[i - 1], $"target probability fell from {p[i - 1]} to {p[i]} at frame {i}");
        Assert.Equal(0, frames[2].RmsDistanceToReconstruction, 6);

        var summary = Assert.IsType<Summarised>(events[^1]).Summary;
        Assert.Equal(1, summary.Spearman, 9);
        Assert.Equal(7, summary.NumFrames);
        // d·w = −1 at the reconstruction: the class flips once the walk has gone 1 along d (alpha 2 is the first frame past it).
        Assert.Equal(2f, summary.FlipAlpha);
        Assert.Equal(ImageDistance.RootMeanSquare(frames[0].Image.Pixels, frames[^1].Image.Pixels), summary.RmsTotalImageChange, 9);
    }

    [Fact]
    public async Task AWalkUntilAProbabilityStopsAtTheFirstFrameThatReachesIt()
    {
        var events = await Create(new LinearGenerator()).ExplainAsync(Job(DirectionMethod.Gradient, new UntilProbabilityWalk(0.9f, 10, 21)), new DirectionClassifier(D), Ct).ToListAsync(Ct);
        var frames = events.OfType<FrameMade>().Select(f => f.Frame).ToList();
        // σ(3 (alpha − 1)) ≥ 0.9 needs alpha ≥ 1 + ln 9 / 3 ≈ 1.73: the first frame on the 0.5 grid is 2.
        Assert.Equal(2f, frames[^1].Alpha);
        Assert.Equal(5, frames.Count);
        Assert.True(frames[^2].Prediction.Probability(1) < 0.9f);
        Assert.Equal(5, Assert.IsType<Summarised>(events[^1]).Summary.NumFrames);
    }

    [Fact]
    public async Task AReconstructionTheClassifierSeesDifferentlyComesWithAWarning()
    {
        // An encoder that lands 2 along d from the input (d·w = +1): the reconstruction is on the other side.
        var generator = new LinearGenerator();
        var explainer = new Explainer(generator, new ShiftingEncoder(generator, 2), new LinearProbeDirections(new DirectionStore(Path.Combine(_folder, "d.db"))), new ExplainerSettings());
        var events = await explainer.ExplainAsync(Job(DirectionMethod.Gradient, new AlphaRangeWalk(0, 1, 2)), new DirectionClassifier(D), Ct).ToListAsync(Ct);
        var reconstruction = events.OfType<Reconstructed>().Single();
        Assert.Contains("class 1 ('towards') for the reconstruction but 0 ('away') for the input", reconstruction.Warning, StringComparison.Ordinal);
        Assert.Null(Assert.IsType<Summarised>(events[^1]).Summary.FlipAlpha);
    }

    [Fact]
    public async Task TheGradientMethodNeedsAWhiteBoxClassifier()
    {
        var blackBox = new BlackBox(new DirectionClassifier(D));
        var e = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await Create(new LinearGenerator()).ExplainAsync(Job(DirectionMethod.Gradient, new AlphaRangeWalk(0, 1, 2)), blackBox, Ct).ToListAsync(Ct));
        Assert.Contains("black box", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheHeatMapIsGradCamFromAWhiteBoxAndOcclusionFromABlackBox()
    {
        var whiteBox = new GradCamClassifier(new DirectionClassifier(D));
        var events = await Create(new LinearGenerator()).ExplainAsync(Job(DirectionMethod.Gradient, new AlphaRangeWalk(0, 1, 2)), whiteBox, Ct).ToListAsync(Ct);
        var made = events.OfType<HeatMapMade>().Single();
        Assert.Equal(HeatMapMethod.GradCam, made.HeatMap.Method);
        Assert.Equal(GradCamClassifier.Map(D), made.HeatMap.Relevance);
        Assert.Equal((LinearGenerator.Resolution, LinearGenerator.Resolution), (made.HeatMap.Height, made.HeatMap.Width));
        // Asked once, for the target class, of the input itself.
        Assert.Equal([1], whiteBox.Targets);
        Assert.Equal(Input(-1f).Pixels, made.Original.Pixels);

        events = await Create(new LinearGenerator()).ExplainAsync(Job(DirectionMethod.LinearProbe, new AlphaRangeWalk(0, 1, 2)), new BlackBox(new DirectionClassifier(D)), Ct).ToListAsync(Ct);
        Assert.Equal(HeatMapMethod.Occlusion, events.OfType<HeatMapMade>().Single().HeatMap.Method);
    }

    [Fact]
    public async Task CancellingStopsTheWalk()
    {
        var generator = new LinearGenerator();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        int frames = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in Create(generator).ExplainAsync(Job(DirectionMethod.Gradient, new AlphaRangeWalk(0, 10, 200)), new DirectionClassifier(D), cancel.Token))
            {
                if (e is FrameMade && ++frames == 3) await cancel.CancelAsync();
            }
        });
        int synthesized = generator.SynthesizedSamples;
        await Task.Delay(50, Ct);
        Assert.Equal(synthesized, generator.SynthesizedSamples);
        Assert.True(synthesized < 20, $"{synthesized} samples synthesised after cancelling at frame 3");
    }

    [Fact]
    public async Task OcclusionFindsThePixelsTheClassifierReads()
    {
        // A classifier of one pixel (row 2, column 1 of the 4x4 image): only patches over it matter.
        var pixel = new float[LinearGenerator.WDim];
        pixel[2 * 4 + 1] = 1;
        var image = new ImageBatch([.. Enumerable.Repeat(0.5f, 16)], 1, 1, 4, 4);
        var map = await OcclusionSensitivity.ComputeAsync(new DirectionClassifier(pixel), image, 1, patch: 1, stride: 1, Ct);
        Assert.Equal(HeatMapMethod.Occlusion, map.Method);
        for (int i = 0; i < 16; i++) Assert.Equal(i == 9 ? 1f : 0f, map.Relevance[i]);

        var wide = await OcclusionSensitivity.ComputeAsync(new DirectionClassifier(pixel), image, 1, patch: 2, stride: 2, Ct);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0], wide.Relevance);
        Assert.Equal([0, 2, 3], OcclusionSensitivity.Positions(5, 2, 2));

        var overlay = HeatMapOverlay.Render(image, map);
        Assert.Equal(48, overlay.Length);
        Assert.Equal(0.4f * 0.5f + 0.6f, overlay[9], 6);
        Assert.Equal(0.5f, overlay[0], 6);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>A classifier that hides its gradient.</summary>
    private sealed class BlackBox(IClassifier inner) : IClassifier
    {
        public ClassifierDescription Description => inner.Description;
        public Task<Predictions> ClassifyAsync(ImageBatch images, CancellationToken cancellationToken = default) => inner.ClassifyAsync(images, cancellationToken);
        public void Dispose() => inner.Dispose();
    }

    /// <summary>A white box whose Grad-CAM is |d| scaled to a largest value of 1, whatever the image; it records the classes asked for.</summary>
    private sealed class GradCamClassifier(DirectionClassifier inner) : IImageGradientClassifier, IGradCamClassifier
    {
        public List<int> Targets { get; } = [];
        public ClassifierDescription Description => inner.Description;
        public Task<Predictions> ClassifyAsync(ImageBatch images, CancellationToken cancellationToken = default) => inner.ClassifyAsync(images, cancellationToken);
        public Task<(Predictions Predictions, float[] Gradient)> ClassLogitGradientAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken) =>
            inner.ClassLogitGradientAsync(images, targetClass, cancellationToken);

        public Task<float[]> GradCamAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken)
        {
            lock (Targets) Targets.Add(targetClass);
            return Task.FromResult<float[]>([.. Enumerable.Range(0, images.Count).SelectMany(_ => Map(inner.Direction))]);
        }

        public static float[] Map(float[] d) => [.. d.Select(v => Math.Abs(v) / d.Max(Math.Abs))];

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Projects with the linear generator, then moves the latent by <c>along</c> × d.</summary>
    private sealed class ShiftingEncoder(LinearGenerator generator, float along) : ILatentEncoder
    {
        public async IAsyncEnumerable<ProjectionEvent> ProjectAsync(ImageBatch image, ProjectionOptions options, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var e in generator.ProjectAsync(image, options, cancellationToken))
            {
                if (e is not Projection p)
                {
                    yield return e;
                    continue;
                }
                var ws = p.Ws.Moved(D, along);
                yield return new Projection(ws, await generator.SynthesizeAsync(ws, cancellationToken), 0.1f);
            }
        }
    }
}
