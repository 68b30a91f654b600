using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;

namespace GrpcExplain.Classifier.Tests;

/// <summary>
/// A model repository in a temporary folder with tiny reference CNNs (random weights, random biases) as
/// ReferenceCnnExport writes them: <see cref="WhiteBox"/> with its reference.safetensors and a classifier.json
/// whose normalisation is not the network's own [-1, 1] (per-channel mean and std, so the client's chain rule
/// has something to do), <see cref="BlackBox"/> the same export without reference.safetensors, and, when asked,
/// <see cref="Stale"/> whose reference.safetensors holds other weights than its ONNX graph.
/// </summary>
public sealed class WhiteBoxRepository : IDisposable
{
    public const string WhiteBox = "reference_cnn", BlackBox = "black_box", Stale = "stale_reference";
    public const int Channels = 3, Resolution = 8, MaxBatchSize = 2;
    public static readonly string[] Labels = ["a", "b", "c"];

    public WhiteBoxRepository(bool withStale = false)
    {
        Root = Directory.CreateTempSubdirectory("grpcexplain-whitebox-").FullName;
        Weights = RandomWeights(new ReferenceCnnConfig(Resolution, Channels, [4, 6], Labels), seed: 3);
        Config = ReferenceCnnExport.Config(Weights.Config, ImageFit.Resize, MaxBatchSize) with
        {
            Normalization = new NormalizationConfig { Scale = 1.2f, Mean = [0.4f, 0.5f, 0.6f], Std = [0.3f, 0.45f, 0.7f] },
        };
        foreach (string name in new[] { WhiteBox, BlackBox })
        {
            ReferenceCnnExport.Write(Weights, Root, name, ImageFit.Resize);
            File.WriteAllText(Path.Combine(Root, name, ClassifierConfig.FileName), Config.ToJson());
        }
        File.Delete(Path.Combine(Root, BlackBox, ReferenceCnnExport.WeightsFileName));
        if (withStale)
        {
            ReferenceCnnExport.Write(Weights, Root, Stale, ImageFit.Resize);
            RandomWeights(Weights.Config, seed: 4).Save(Path.Combine(Root, Stale, ReferenceCnnExport.WeightsFileName));
        }
    }

    public string Root { get; }

    public ReferenceCnnWeights Weights { get; }

    /// <summary>The white box's classifier.json.</summary>
    public ClassifierConfig Config { get; }

    /// <summary>The network the service should be running, on its own backend.</summary>
    public ReferenceCnn Network() => new(Backends.Create(BackendKind.Cpu), Weights);

    /// <summary>Images in [-1, 1], [count, 3, 8, 8].</summary>
    public static ImageBatch Images(int count, int seed)
    {
        var rng = new Random(seed);
        return new ImageBatch([.. Enumerable.Range(0, count * Channels * Resolution * Resolution).Select(_ => (float)(rng.NextDouble() * 2 - 1))],
            count, Channels, Resolution, Resolution);
    }

    /// <summary>Initialised weights with every bias random too, so no ReLU sits exactly at its kink for a whole layer.</summary>
    public static ReferenceCnnWeights RandomWeights(ReferenceCnnConfig config, int seed)
    {
        var initial = ReferenceCnnWeights.Initialize(config, seed);
        var rng = new Random(seed + 100);
        return ReferenceCnnWeights.FromTensors(config, initial.Tensors.ToDictionary(t => t.Key,
            t => t.Key.EndsWith(".bias", StringComparison.Ordinal) ? new HostTensor(t.Value.Shape, [.. t.Value.Data.Select(_ => (float)(rng.NextDouble() - 0.5) * 0.4f)]) : t.Value));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
