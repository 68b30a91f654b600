using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Training;
using GrpcExplain.StyleGan.Training.Augmentation;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Training.Gan;

/// <summary>The part of a checkpoint people read (RUN/state.json), also kept inside checkpoint.safetensors.</summary>
public sealed record GanRunState
{
    public required long Step { get; init; }
    public required long ImagesSeen { get; init; }
    public required double Kimg { get; init; }
    public required int GeneratorAdamStep { get; init; }
    public required int DiscriminatorAdamStep { get; init; }
    public AdaptiveAugmentState? Ada { get; init; }
    public required JsonObject Config { get; init; }

    /// <summary>Seconds of training (not counting FID or start-up) over every session of the run so far.</summary>
    public required double WallSeconds { get; init; }

    public required DateTime WrittenUtc { get; init; }
}

/// <summary>
/// A run's checkpoint: RUN/checkpoint.safetensors holds G, G_ema and D (every tensor by NVIDIA's name,
/// prefixed G., G_ema., D.) and both optimisers' moments (G_adam.m., G_adam.v., D_adam.m., D_adam.v.),
/// with <see cref="GanRunState"/> as JSON in its __metadata__, so the one file is the whole state and
/// one rename commits it: it is written completely under a temporary name (flushed to disk), then
/// renamed over the previous one, which stays until then. RUN/state.json is a readable copy of the
/// state written after it; when a kill falls between the two renames, the file's own copy wins.
/// </summary>
public static class GanCheckpoint
{
    public const string FileName = "checkpoint.safetensors";
    public const string StateFileName = "state.json";
    public const string Format = "grpcexplain-gan-checkpoint/1";
    private const string PartialName = ".checkpoint.safetensors.partial";

    private static readonly JsonSerializerOptions StateJson = new(GanConfig.Json) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string PathIn(string runDirectory) => Path.Combine(runDirectory, FileName);

    public static bool Exists(string runDirectory) => File.Exists(PathIn(runDirectory));

    public static void Write(string runDirectory, GanSnapshot snapshot, double wallSeconds) => Write(runDirectory, snapshot, wallSeconds, beforeCommit: null);

    /// <summary><paramref name="beforeCommit"/> runs when the new file is complete but not yet renamed into place (tests kill the write there).</summary>
    internal static void Write(string runDirectory, GanSnapshot snapshot, double wallSeconds, Action? beforeCommit)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Directory.CreateDirectory(runDirectory);
        var state = new GanRunState
        {
            Step = snapshot.Step, ImagesSeen = snapshot.ImagesSeen, Kimg = snapshot.Kimg,
            GeneratorAdamStep = snapshot.GeneratorAdam.Step, DiscriminatorAdamStep = snapshot.DiscriminatorAdam.Step,
            Ada = snapshot.Ada, Config = snapshot.Config.ToJson(), WallSeconds = wallSeconds, WrittenUtc = DateTime.UtcNow,
        };
        string stateText = JsonSerializer.Serialize(state, StateJson);
        var metadata = new Dictionary<string, string> { ["format"] = Format, ["state"] = stateText };

        string partial = Path.Combine(runDirectory, PartialName);
        SafeTensors.Write(partial, Tensors(snapshot), metadata);
        using (var written = new FileStream(partial, FileMode.Open, FileAccess.ReadWrite)) written.Flush(flushToDisk: true);
        beforeCommit?.Invoke();
        File.Move(partial, PathIn(runDirectory), overwrite: true);
        AtomicText.Write(Path.Combine(runDirectory, StateFileName), stateText + "\n");
    }

    /// <summary>The checkpoint in <paramref name="runDirectory"/>; InvalidDataException names what is wrong with it.</summary>
    public static (GanSnapshot Snapshot, GanRunState State) Read(string runDirectory)
    {
        string path = PathIn(runDirectory);
        var file = SafeTensors.Read(path);
        try
        {
            if (file.Metadata is null || !file.Metadata.TryGetValue("format", out var format) || format != Format)
                throw new InvalidDataException($"not a GAN training checkpoint (its metadata 'format' is not '{Format}').");
            if (!file.Metadata.TryGetValue("state", out var stateText))
                throw new InvalidDataException("the training state is missing from its metadata.");
            var state = JsonSerializer.Deserialize<GanRunState>(stateText, StateJson) ?? throw new InvalidDataException("the training state is empty.");
            var config = GanConfig.FromJson(state.Config);
            var t = file.Tensors;
            var gConfig = config.Generator;
            var dConfig = config.Discriminator;
            var snapshot = new GanSnapshot(config, state.Step,
                GeneratorWeights.FromTensors(gConfig, Prefixed(t, "G.", gConfig.TensorShapes())),
                GeneratorWeights.FromTensors(gConfig, Prefixed(t, "G_ema.", gConfig.TensorShapes())),
                DiscriminatorWeights.FromTensors(dConfig, Prefixed(t, "D.", dConfig.ParameterShapes())),
                Moments(t, "G_adam.", gConfig.ParameterShapes(), state.GeneratorAdamStep),
                Moments(t, "D_adam.", dConfig.ParameterShapes(), state.DiscriminatorAdamStep),
                state.Ada);
            if (config.Ada != (state.Ada is not null))
                throw new InvalidDataException(config.Ada ? "ADA is on but its state is missing." : "ADA is off but an ADA state is present.");
            return (snapshot, state);
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or KeyNotFoundException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static IEnumerable<KeyValuePair<string, HostTensor>> Tensors(GanSnapshot s)
    {
        foreach (var (name, _) in s.Config.Generator.TensorShapes()) yield return new("G." + name, s.Generator[name]);
        foreach (var (name, _) in s.Config.Generator.TensorShapes()) yield return new("G_ema." + name, s.GeneratorEma[name]);
        foreach (var (name, _) in s.Config.Discriminator.ParameterShapes()) yield return new("D." + name, s.Discriminator[name]);
        foreach (var p in MomentTensors("G_adam.", s.Config.Generator.ParameterShapes(), s.GeneratorAdam)) yield return p;
        foreach (var p in MomentTensors("D_adam.", s.Config.Discriminator.ParameterShapes(), s.DiscriminatorAdam)) yield return p;
    }

    private static IEnumerable<KeyValuePair<string, HostTensor>> MomentTensors(string prefix, IEnumerable<(string Name, int[] Shape)> shapes, AdamState state)
    {
        var list = shapes.ToList();
        for (int k = 0; k < list.Count; k++) yield return new($"{prefix}m.{list[k].Name}", new HostTensor(list[k].Shape, state.M[k]));
        for (int k = 0; k < list.Count; k++) yield return new($"{prefix}v.{list[k].Name}", new HostTensor(list[k].Shape, state.V[k]));
    }

    private static Dictionary<string, HostTensor> Prefixed(IReadOnlyDictionary<string, HostTensor> tensors, string prefix, IEnumerable<(string Name, int[] Shape)> shapes) =>
        shapes.ToDictionary(s => s.Name, s => tensors.TryGetValue(prefix + s.Name, out var t) ? t
            : throw new InvalidDataException($"tensor '{prefix}{s.Name}' is missing (was the checkpoint written for another configuration?)."));

    private static AdamState Moments(IReadOnlyDictionary<string, HostTensor> tensors, string prefix, IEnumerable<(string Name, int[] Shape)> shapes, int step)
    {
        var list = shapes.ToList();
        float[] Get(string name, int[] shape)
        {
            if (!tensors.TryGetValue(name, out var t)) throw new InvalidDataException($"tensor '{name}' is missing.");
            if (!t.Shape.SequenceEqual(shape)) throw new InvalidDataException($"tensor '{name}' has shape {t.ShapeText}, expected [{string.Join(", ", shape)}].");
            return t.Data;
        }
        return new AdamState([.. list.Select(s => Get($"{prefix}m.{s.Name}", s.Shape))], [.. list.Select(s => Get($"{prefix}v.{s.Name}", s.Shape))], step);
    }
}

/// <summary>Small text files (state, metrics, logs rewritten whole) written beside and renamed into place.</summary>
internal static class AtomicText
{
    public static void Write(string path, string text)
    {
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(text);
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
