using System.Collections.Concurrent;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Generation;

namespace GrpcExplain.Explain.Directions;

/// <summary>
/// Linear-probe directions, each fitted once: looked up in the <see cref="DirectionStore"/>, fitted
/// and stored when missing (or when a refit is asked for). Requests for the same key in this process
/// wait for one fit instead of each running their own.
/// </summary>
public sealed class LinearProbeDirections(DirectionStore store)
{
    private readonly ConcurrentDictionary<DirectionKey, SemaphoreSlim> _fitting = new();

    public DirectionStore Store => store;

    public static DirectionKey KeyFor(GeneratorInfo generator, IClassifier classifier, int targetClass)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(classifier);
        return new DirectionKey(generator.WeightsSha256, classifier.Description.Model, classifier.Description.Version, targetClass, DirectionKey.LinearProbe);
    }

    /// <summary>The stored direction for the generator, classifier and class; fitted first when there is none or <paramref name="refit"/> is set.</summary>
    /// <returns>The direction, and whether this call fitted it.</returns>
    public async Task<(StoredDirection Direction, bool Fitted)> GetOrFitAsync(IGeneratorClient generator, IClassifier classifier, int targetClass, ProbeSettings settings,
        bool refit, Func<FitProgress, CancellationToken, ValueTask>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var info = await generator.GetInfoAsync(cancellationToken).ConfigureAwait(false);
        var key = KeyFor(info, classifier, targetClass);
        if (!refit && store.Find(key) is { } found) return (found, false);
        var gate = _fitting.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another request may have fitted it while this one waited.
            if (!refit && store.Find(key) is { } fittedMeanwhile) return (fittedMeanwhile, false);
            var probe = await LinearProbeDirection.FitAsync(generator, classifier, targetClass, settings, progress, cancellationToken).ConfigureAwait(false);
            return (store.Add(key, probe, settings), true);
        }
        finally
        {
            gate.Release();
        }
    }
}
