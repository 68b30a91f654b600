using GrpcExplain.Kernels;
using System.Collections.Concurrent;
using System.Text.Json;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Tests.Fidelity;

/// <summary>
/// One case of a fixture: the latent space it starts from, truncation, noise mode, and the names of
/// the tensors holding its inputs and PyTorch's outputs (cases.json of tools/stylegan2/make_fixtures.py,
/// or expected.json of tools/convert/test_convert.py, whose single "output" becomes "img").
/// </summary>
public sealed record FixtureCase(string Name, string Kind, string LatentSpace, IReadOnlyDictionary<string, string> Inputs,
    float Psi, int? Cutoff, NoiseMode Noise, IReadOnlyDictionary<string, string> Outputs);

/// <summary>A fixture folder under Fixtures/: the generator's weights, its cases and their tensors; loaded once per run.</summary>
public sealed class Fixture
{
    private static readonly ConcurrentDictionary<string, Lazy<Fixture>> Cache = new();

    private readonly IReadOnlyDictionary<string, HostTensor> _tensors;

    private Fixture(string name, GeneratorWeights weights, IReadOnlyDictionary<string, HostTensor> tensors, IReadOnlyList<FixtureCase> cases)
    {
        (Name, Weights, _tensors, Cases) = (name, weights, tensors, cases);
    }

    public string Name { get; }
    public GeneratorWeights Weights { get; }
    public IReadOnlyList<FixtureCase> Cases { get; }

    public static Fixture Get(string name) => Cache.GetOrAdd(name, n => new Lazy<Fixture>(() => Load(n))).Value;

    public FixtureCase Case(string name) =>
        Cases.SingleOrDefault(c => c.Name == name) ?? throw new ArgumentException($"Fixture {Name} has no case '{name}'.", nameof(name));

    public HostTensor Tensor(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"Fixture {Name} has no tensor '{name}'.");

    public float[] Input(FixtureCase c, string key) => Tensor(c.Inputs[key]).Data;

    public float[]? OptionalInput(FixtureCase c, string key) => c.Inputs.TryGetValue(key, out var t) ? Tensor(t).Data : null;

    public float[] Output(FixtureCase c, string key) => Tensor(c.Outputs[key]).Data;

    /// <summary>Every input's first dimension is the batch.</summary>
    public int Batch(FixtureCase c) => Tensor(c.Inputs.Values.First()).Shape[0];

    /// <summary>Theory rows (fixture, case, backend) for the cases <paramref name="include"/> takes, on every selected backend that runs them.</summary>
    public static TheoryData<string, string, string> Rows(IEnumerable<string> fixtures, Func<FixtureCase, bool> include)
    {
        var rows = new TheoryData<string, string, string>();
        foreach (var fixture in fixtures)
            foreach (var c in Get(fixture).Cases.Where(include))
                foreach (var backend in FidelityBackends.Selected)
                    if (FidelityBackends.Runs(backend, fixture, c.Name))
                        rows.Add(fixture, c.Name, backend);
        return rows;
    }

    private static Fixture Load(string name)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
        var json = File.Exists(Path.Combine(dir, "cases.json")) ? Path.Combine(dir, "cases.json") : Path.Combine(dir, "expected.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        var weights = GeneratorWeights.Load(Path.Combine(dir, root.GetProperty("weights").GetString()!));
        var tensors = SafeTensors.Read(Path.Combine(dir, root.GetProperty("tensors").GetString()!)).Tensors;
        var cases = root.GetProperty("cases").EnumerateArray().Select(ParseCase).ToList();
        return new Fixture(name, weights, tensors, cases);
    }

    private static FixtureCase ParseCase(JsonElement e)
    {
        static Dictionary<string, string> Names(JsonElement o) => o.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var inputs = Names(e.GetProperty("inputs"));
        var outputs = e.TryGetProperty("outputs", out var o) ? Names(o) : new Dictionary<string, string> { ["img"] = e.GetProperty("output").GetString()! };
        // The converted fixtures name no latent space or kind: their inputs say which it is.
        string space = e.TryGetProperty("latent_space", out var s) ? s.GetString()! : inputs.ContainsKey("z") ? "z" : "wplus";
        float psi = e.TryGetProperty("truncation_psi", out var p) ? p.GetSingle() : 1f;
        int? cutoff = e.TryGetProperty("truncation_cutoff", out var k) && k.ValueKind == JsonValueKind.Number ? k.GetInt32() : null;
        var noise = e.GetProperty("noise_mode").GetString() switch
        {
            "const" => NoiseMode.Const,
            "none" => NoiseMode.None,
            var other => throw new InvalidDataException($"Case {e.GetProperty("name")} has noise mode '{other}', which no fixture can pin down."),
        };
        string kind = e.TryGetProperty("kind", out var kd) ? kd.GetString()! : "forward";
        return new FixtureCase(e.GetProperty("name").GetString()!, kind, space, inputs, psi, cutoff, noise, outputs);
    }
}
