using System.Text.Json;
using GrpcExplain.Classifiers.Onnx;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcExplain.Classifiers.Tests;

/// <summary>
/// The reference classifiers that tools/classifier/make_fixture.py exported from PyTorch, and what
/// PyTorch computed for them (Fixtures/cases.json).
/// </summary>
public static class Fixtures
{
    public static string Repository => Path.Combine(AppContext.BaseDirectory, "Fixtures", "model_repository");

    public static OnnxOptions Cpu { get; } = new() { ExecutionProvider = ExecutionProvider.Cpu, IntraOpThreads = 1 };

    private static readonly Lazy<JsonElement> CasesJson = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "cases.json"))).RootElement);

    public static Case Case(string model) => new(CasesJson.Value.GetProperty(model));

    public static ClassifierConfig Config(string model) => ClassifierConfig.Load(Path.Combine(Repository, model, ClassifierConfig.FileName));

    public static ModelRepository LoadRepository(IReadOnlyCollection<string>? only = null, string? root = null) =>
        ModelRepository.Load(root ?? Repository, Cpu, NullLogger.Instance, only, TestContext.Current.CancellationToken);

    /// <summary>A copy of the fixture repository that a test may change.</summary>
    public static string CopyRepository(string under)
    {
        string root = Path.Combine(under, "model_repository");
        foreach (string file in Directory.EnumerateFiles(Repository, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(root, Path.GetRelativePath(Repository, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return root;
    }
}

public sealed class Case(JsonElement json)
{
    public int[] ImagesShape { get; } = [.. json.GetProperty("images_shape").EnumerateArray().Select(e => e.GetInt32())];

    /// <summary>The images in [-1, 1] as the script made them: float32(k) / 255 * 2 - 1.</summary>
    public float[] Images { get; } = [.. json.GetProperty("image_levels").EnumerateArray().Select(e => (float)e.GetInt32() / 255f * 2f - 1f)];

    public ImageBatch Batch => new(Images, ImagesShape[0], ImagesShape[1], ImagesShape[2], ImagesShape[3]);

    public byte[]? ModelInput { get; } = json.TryGetProperty("model_input", out var m) ? [.. m.EnumerateArray().Select(e => (byte)e.GetInt32())] : null;

    public long[] OutputsShape { get; } = [.. json.GetProperty("outputs_shape").EnumerateArray().Select(e => e.GetInt64())];

    public float[] Outputs { get; } = [.. json.GetProperty("outputs").EnumerateArray().Select(e => e.GetSingle())];

    public float[] Probabilities { get; } = [.. json.GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle())];
}

/// <summary>A temporary folder, removed with everything in it.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("grpcexplain-classifiers-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public static class Close
{
    /// <summary>Element-wise |a - e| &lt;= atol + rtol * |e|, naming the first element that is not.</summary>
    public static void All(float[] expected, float[] actual, float atol = 1e-5f, float rtol = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"element {i}: expected {expected[i]:G9}, got {actual[i]:G9}");
        }
    }
}
