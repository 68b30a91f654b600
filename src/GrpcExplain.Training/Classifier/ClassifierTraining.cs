using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Classifier;

/// <summary>How long a run goes and where it writes, beside what it computes (<see cref="ClassifierTrainingConfig"/>): free to change when resuming.</summary>
public sealed record ClassifierRunOptions
{
    /// <summary>RUN/: checkpoint.safetensors, state.json, log.jsonl, cache/.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>
    /// Train until this many epochs are done (over every session of the run). The learning rate's cosine
    /// spans this many epochs, so raising it when resuming raises the rates of the epochs still to come.
    /// </summary>
    public required int Epochs { get; init; }

    /// <summary>Where the best network is exported at the end, as REPOSITORY/NAME/ (none when null).</summary>
    public string? Repository { get; init; }

    public string? Name { get; init; }

    /// <summary>Where the decoded data is kept; default RUN/cache.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Images per forward pass when validating.</summary>
    public int EvalBatch { get; init; } = 128;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RunDirectory)) throw new ArgumentException("No run folder given.");
        if (Epochs < 1) throw new ArgumentException($"epochs must be at least 1, got {Epochs}.");
        if ((Repository is null) != (Name is null)) throw new ArgumentException("Export needs both a repository and a model name.");
        if (EvalBatch < 1) throw new ArgumentException($"the validation batch must be at least 1, got {EvalBatch}.");
    }
}

/// <summary>What a run reports while it goes.</summary>
public abstract record ClassifierTrainingEvent;

/// <summary>Images decoded into a cache (only when a cache is built).</summary>
public sealed record ClassifierDecoding(PackedCacheProgress Progress) : ClassifierTrainingEvent;

/// <summary>The run starts: from a checkpoint after <paramref name="EpochsDone"/> epochs (0: a fresh run), on these data.</summary>
public sealed record ClassifierStarting(int EpochsDone, int TrainImages, int ValidationImages, IReadOnlyList<string> ClassLabels, string Device) : ClassifierTrainingEvent;

/// <summary>A minibatch of an epoch is done.</summary>
public sealed record ClassifierBatchDone(int Epoch, int Batch, int Batches, double Loss) : ClassifierTrainingEvent;

/// <summary>An epoch is done, validated and checkpointed.</summary>
public sealed record ClassifierEpochDone(ClassifierEpoch Metrics, int Epochs, bool IsBest) : ClassifierTrainingEvent;

/// <summary>The best network was exported to this model-repository folder.</summary>
public sealed record ClassifierExported(string Folder) : ClassifierTrainingEvent;
