using GrpcExplain.Kernels;
using System.Text.Json;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Projection;

/// <summary>Fixtures/projection (tools/fixtures/make_projection_fixtures.py): SSIM cases, the noise regulariser and Adam from PyTorch.</summary>
internal static class ProjectionFixture
{
    private static readonly Lazy<(JsonElement Root, IReadOnlyDictionary<string, HostTensor> Tensors)> Loaded = new(() =>
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "projection");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "cases.json")));
        return (doc.RootElement.Clone(), SafeTensors.Read(Path.Combine(dir, "tensors.safetensors")).Tensors);
    });

    public static JsonElement Root => Loaded.Value.Root;

    public static float[] Tensor(string name) => Loaded.Value.Tensors[name].Data;

    public static bool Has(string name) => Loaded.Value.Tensors.ContainsKey(name);

    public static IEnumerable<JsonElement> MetricCases => Root.GetProperty("metrics").EnumerateArray();

    public static JsonElement MetricCase(string name) => MetricCases.Single(c => c.GetProperty("name").GetString() == name);
}
