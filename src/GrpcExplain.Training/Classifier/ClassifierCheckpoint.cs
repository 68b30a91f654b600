using System.Text.Json;
using System.Text.Json.Serialization;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Training;

namespace GrpcExplain.Training.Classifier;

/// <summary>One epoch's figures: the training loss and accuracy over its minibatches (augmented), the validation set's after it.</summary>
public sealed record ClassifierEpoch(
    int Epoch, double LearningRate, double TrainLoss, double TrainAccuracy,
    double ValLoss, double ValAccuracy, double ValAuc, double Seconds, double ImagesPerSecond);

/// <summary>Where a run stands after its last completed epoch (RUN/state.json, and inside the checkpoint).</summary>
public sealed record ClassifierRunState
{
    public required int EpochsDone { get; init; }

    public required int BestEpoch { get; init; }

    public required IReadOnlyList<ClassifierEpoch> History { get; init; }

    /// <summary>Seconds of training and validation over every session of the run (not data decoding).</summary>
    public required double WallSeconds { get; init; }

    public required DateTime WrittenUtc { get; init; }

    public ClassifierEpoch? Best => BestEpoch == 0 ? null : History[BestEpoch - 1];
}

/// <summary>Everything a run needs to continue: the network now, the best network so far, Adam's moments, the state.</summary>
public sealed record ClassifierSnapshot(ReferenceCnnWeights Current, ReferenceCnnWeights Best, AdamState Adam, ClassifierRunState State);

/// <summary>
/// RUN/checkpoint.safetensors: the current weights (model.NAME), the best weights by validation AUC
/// (best.NAME), Adam's moments (adam.m.NAME, adam.v.NAME), with the training config, the network's
/// architecture and <see cref="ClassifierRunState"/> in its __metadata__. One file, written under a
/// temporary name and renamed into place (<see cref="SafeTensors.Write"/>), so a kill leaves the previous
/// epoch's checkpoint whole; RUN/state.json is a readable copy of the state written after it.
/// </summary>
public static class ClassifierCheckpoint
{
    public const string FileName = "checkpoint.safetensors";
    public const string StateFileName = "state.json";
    public const string Format = "grpcexplain-classifier-checkpoint/1";

    public static JsonSerializerOptions Json { get; } = new(ClassifierTrainingConfig.Json)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string PathIn(string runDirectory) => Path.Combine(runDirectory, FileName);

    public static void Write(string runDirectory, ClassifierTrainingConfig config, ClassifierSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(snapshot);
        Directory.CreateDirectory(runDirectory);
        var network = snapshot.Current.Config;
        var names = network.ParameterShapes().ToList();
        var tensors = new List<KeyValuePair<string, HostTensor>>();
        foreach (var (name, _) in names) tensors.Add(new($"model.{name}", snapshot.Current[name]));
        foreach (var (name, _) in names) tensors.Add(new($"best.{name}", snapshot.Best[name]));
        for (int k = 0; k < names.Count; k++)
        {
            tensors.Add(new($"adam.m.{names[k].Name}", new HostTensor(names[k].Shape, snapshot.Adam.M[k])));
            tensors.Add(new($"adam.v.{names[k].Name}", new HostTensor(names[k].Shape, snapshot.Adam.V[k])));
        }
        string state = JsonSerializer.Serialize(snapshot.State, Json);
        var metadata = new Dictionary<string, string>(network.ToMetadata())
        {
            ["format"] = Format,
            ["training_config"] = config.ToJson(),
            ["state"] = state,
            ["adam_step"] = snapshot.Adam.Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        SafeTensors.Write(PathIn(runDirectory), tensors, metadata);
        Classifiers.AtomicFiles.Write(Path.Combine(runDirectory, StateFileName), System.Text.Encoding.UTF8.GetBytes(state + "\n"));
    }

    /// <summary>The run's checkpoint, or null when it has none; InvalidDataException names what is wrong with one that exists.</summary>
    public static (ClassifierTrainingConfig Config, ClassifierSnapshot Snapshot)? Read(string runDirectory)
    {
        string path = PathIn(runDirectory);
        if (!File.Exists(path)) return null;
        var file = SafeTensors.Read(path);
        try
        {
            var meta = file.Metadata ?? throw new InvalidDataException("no __metadata__");
            if (!meta.TryGetValue("format", out var format) || format != Format)
                throw new InvalidDataException($"format is '{format ?? "missing"}', expected '{Format}'");
            string Text(string key) => meta.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"metadata '{key}' is missing");
            var config = ClassifierTrainingConfig.FromJson(Text("training_config"), path);
            var state = JsonSerializer.Deserialize<ClassifierRunState>(Text("state"), Json) ?? throw new InvalidDataException("the state is empty");
            var network = ReferenceCnnConfig.FromMetadata(meta);
            ReferenceCnnWeights Weights(string prefix) => ReferenceCnnWeights.FromTensors(network,
                network.ParameterShapes().ToDictionary(p => p.Name, p => Tensor(file, $"{prefix}.{p.Name}")));
            var shapes = network.ParameterShapes().ToList();
            var adam = new AdamState([.. shapes.Select(p => Tensor(file, $"adam.m.{p.Name}").Data)], [.. shapes.Select(p => Tensor(file, $"adam.v.{p.Name}").Data)],
                int.Parse(Text("adam_step"), System.Globalization.CultureInfo.InvariantCulture));
            return (config, new ClassifierSnapshot(Weights("model"), Weights("best"), adam, state));
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or FormatException or KeyNotFoundException)
        {
            throw new InvalidDataException($"{path}: not a usable classifier checkpoint: {e.Message}", e);
        }
    }

    private static HostTensor Tensor(SafeTensorsFile file, string name) =>
        file.Tensors.TryGetValue(name, out var t) ? t : throw new InvalidDataException($"tensor '{name}' is missing");
}
