using System.Diagnostics;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Generation;

namespace GrpcExplain.Explain.Directions;

/// <summary>How a linear probe is fitted; equal settings (and generator and classifier), equal directions.</summary>
/// <param name="NumSamples">Latents sampled, synthesised and classified.</param>
/// <param name="HeldOutFraction">Fraction of them (of each label) kept out of the fit to measure it.</param>
/// <param name="TruncationPsi">Truncation of the sampled latents towards the average w.</param>
/// <param name="L2">The penalty λ of <see cref="LogisticRegression"/>.</param>
public sealed record ProbeSettings(int NumSamples = 1000, double HeldOutFraction = 0.2, float TruncationPsi = 1f, int Seed = 0, double L2 = 1.0);

/// <summary>Where a fit is: "sampling" (mapping and synthesis), "classifying", "fitting".</summary>
public sealed record FitProgress(string Stage, int SamplesDone, int NumSamples, double ElapsedSeconds);

/// <summary>A fitted probe: the unit normal of its decision boundary in W, pointing towards the target class, and how well it separates held-out samples.</summary>
/// <param name="Labelling">How the samples were labelled, in words (the classifier's decision, or a median split when it almost never or almost always chose the class).</param>
public sealed record ProbeResult(float[] Direction, double HeldOutAccuracy, double HeldOutAuc, int NumTrain, int NumHeldOut, string Labelling);

/// <summary>A probe could not be fitted from what the classifier said (for example it never changed its mind).</summary>
public sealed class ProbeException(string message) : Exception(message);

/// <summary>
/// The paper's direction (Schutte et al. 2021, as InterFaceGAN with attribute labels): sample latents
/// z, map them to W, synthesise and classify the images, and fit a logistic regression from w to the
/// classifier's decision for the target class. The unit normal of the boundary is the direction.
/// Synthesis of the next batch overlaps classification of the current one.
/// </summary>
public static class LinearProbeDirection
{
    public static async Task<ProbeResult> FitAsync(IGeneratorClient generator, IClassifier classifier, int targetClass, ProbeSettings settings,
        Func<FitProgress, CancellationToken, ValueTask>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.NumSamples < 4) throw new ArgumentOutOfRangeException(nameof(settings), settings.NumSamples, "A probe needs at least 4 samples.");
        if (!(settings.HeldOutFraction > 0 && settings.HeldOutFraction < 1)) throw new ArgumentOutOfRangeException(nameof(settings), settings.HeldOutFraction, "The held-out fraction must be between 0 and 1.");
        int classes = classifier.Description.ClassLabels.Count;
        if (targetClass < 0 || targetClass >= classes) throw new ArgumentOutOfRangeException(nameof(targetClass), targetClass, $"The classifier has {classes} classes.");
        var clock = Stopwatch.StartNew();
        progress ??= (_, _) => ValueTask.CompletedTask;
        var info = await generator.GetInfoAsync(cancellationToken).ConfigureAwait(false);
        int n = settings.NumSamples, batch = Math.Max(1, info.MaxBatchSize);
        var (z, c) = SampleZ(info, n, settings.Seed);

        var ws = new float[n * info.WDim];
        for (int start = 0; start < n; start += batch)
        {
            int count = Math.Min(batch, n - start);
            var mapped = await generator.MapAsync(z.AsSpan(start * info.ZDim, count * info.ZDim).ToArray(),
                c?.AsSpan(start * info.CDim, count * info.CDim).ToArray(), count, settings.TruncationPsi, cancellationToken).ConfigureAwait(false);
            mapped.Values.CopyTo(ws, start * info.WDim);
        }

        var target = new float[n];
        var decided = new bool[n];
        using (var overlap = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            Task<ImageBatch> Synthesize(int start) =>
                generator.SynthesizeAsync(new Latents(ws.AsSpan(start * info.WDim, Math.Min(batch, n - start) * info.WDim).ToArray(), Math.Min(batch, n - start), info.WDim), overlap.Token);
            Task<ImageBatch>? next = Synthesize(0);
            try
            {
                for (int start = 0; start < n; start += batch)
                {
                    var images = await next!.ConfigureAwait(false);
                    next = start + batch < n ? Synthesize(start + batch) : null;
                    await progress(new FitProgress("sampling", start + images.Count, n, clock.Elapsed.TotalSeconds), cancellationToken).ConfigureAwait(false);
                    var predictions = await classifier.ClassifyAsync(images, cancellationToken).ConfigureAwait(false);
                    for (int i = 0; i < images.Count; i++)
                    {
                        target[start + i] = predictions.Probability(i, targetClass);
                        decided[start + i] = predictions.PredictedClass(i) == targetClass;
                    }
                    await progress(new FitProgress("classifying", start + images.Count, n, clock.Elapsed.TotalSeconds), cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                if (next is not null)
                {
                    await overlap.CancelAsync().ConfigureAwait(false);
                    await next.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                }
            }
        }

        await progress(new FitProgress("fitting", 0, n, clock.Elapsed.TotalSeconds), cancellationToken).ConfigureAwait(false);
        var (labels, labelling) = Labels(decided, target, targetClass);
        var (train, heldOut) = StratifiedSplit(labels, settings.HeldOutFraction, settings.Seed);
        var model = await Task.Run(() => LogisticRegression.Fit(Gather(ws, info.WDim, train), train.Length, info.WDim, [.. train.Select(i => labels[i])], settings.L2),
            cancellationToken).ConfigureAwait(false);
        var scores = heldOut.Select(i => model.Decision(ws.AsSpan(i * info.WDim, info.WDim))).ToArray();
        bool[] truth = [.. heldOut.Select(i => labels[i])];
        double accuracy = scores.Zip(truth, (s, t) => s > 0 == t).Count(ok => ok) / (double)heldOut.Length;
        double auc = RankStatistics.RocAuc(scores, truth);
        await progress(new FitProgress("fitting", n, n, clock.Elapsed.TotalSeconds), cancellationToken).ConfigureAwait(false);
        return new ProbeResult(Vectors.Unit(model.Weights, "The probe's weights are all zero: the samples' latents do not tell the labels apart."), accuracy, auc, train.Length, heldOut.Length, labelling);
    }

    /// <summary>
    /// Positive = the classifier decides for the target class. When it (almost) never or always does,
    /// a logistic regression has nothing to separate, so the samples are split at the median of the
    /// target probability instead: the direction then still points to where that probability grows.
    /// </summary>
    internal static (bool[] Labels, string Labelling) Labels(bool[] decided, float[] target, int targetClass)
    {
        int n = decided.Length, positives = decided.Count(d => d), minimum = Math.Max(4, n / 50);
        if (positives >= minimum && n - positives >= minimum)
            return (decided, $"the classifier's decision: class {targetClass} predicted for {positives} of {n} samples");
        var sorted = target.Order().ToArray();
        float median = sorted[n / 2];
        if (sorted[0] == sorted[^1])
            throw new ProbeException($"The classifier gave class {targetClass} the same probability ({median}) for all {n} samples: there is no direction to find.");
        // Strictly above the median, unless that leaves too few positives (many equal probabilities).
        bool[] labels = [.. target.Select(p => p > median)];
        if (labels.Count(l => l) < minimum) labels = [.. target.Select(p => p >= median)];
        int split = labels.Count(l => l);
        if (split < 2 || n - split < 2)
            throw new ProbeException($"The classifier's probability of class {targetClass} takes too few distinct values over {n} samples to fit a probe.");
        return (labels, $"the target probability above its median {median:G4}: class {targetClass} was predicted for only {positives} of {n} samples");
    }

    /// <summary>Held-out indices drawn from each label separately, so both sets hold both labels.</summary>
    internal static (int[] Train, int[] HeldOut) StratifiedSplit(bool[] labels, double heldOutFraction, int seed)
    {
        var rng = new Random(unchecked(seed * 31 + 7));
        var train = new List<int>();
        var heldOut = new List<int>();
        foreach (bool label in new[] { true, false })
        {
            int[] indices = [.. Enumerable.Range(0, labels.Length).Where(i => labels[i] == label)];
            rng.Shuffle(indices);
            int held = Math.Clamp((int)Math.Round(indices.Length * heldOutFraction), 1, indices.Length - 1);
            heldOut.AddRange(indices[..held]);
            train.AddRange(indices[held..]);
        }
        train.Sort();
        heldOut.Sort();
        return ([.. train], [.. heldOut]);
    }

    /// <summary>Standard normal z (Box–Muller on a seeded generator) and, for a conditional generator, uniformly drawn one-hot classes.</summary>
    internal static (float[] Z, float[]? C) SampleZ(GeneratorInfo info, int n, int seed)
    {
        var rng = new Random(seed);
        var z = new float[n * info.ZDim];
        for (int i = 0; i < z.Length; i++) z[i] = (float)Vectors.Gaussian(rng);
        if (info.CDim == 0) return (z, null);
        var c = new float[n * info.CDim];
        for (int i = 0; i < n; i++) c[i * info.CDim + rng.Next(info.CDim)] = 1;
        return (z, c);
    }

    private static float[] Gather(float[] rows, int rowLength, int[] indices)
    {
        var result = new float[indices.Length * rowLength];
        for (int k = 0; k < indices.Length; k++) rows.AsSpan(indices[k] * rowLength, rowLength).CopyTo(result.AsSpan(k * rowLength));
        return result;
    }
}
