using System.Text.Json;
using System.Text.Json.Serialization;

namespace NativeBench;

/// <summary>One op, shape, direction and backend: a line of the JSON array native-bench writes.</summary>
internal sealed record Row
{
    public const string Ok = "ok", Inaccurate = "inaccurate", NotImplemented = "not_implemented", Failed = "failed";

    public required string Op { get; init; }
    public required string Shape { get; init; }
    public required string Backend { get; init; }
    public required string Direction { get; init; }
    public required int Batch { get; init; }
    public required IReadOnlyList<string> Config { get; init; }

    /// <summary>Median milliseconds per call; null when the variant did not run.</summary>
    public double? Ms { get; init; }
    public double? Gflops { get; init; }
    public double? Gbps { get; init; }
    public required long Flops { get; init; }
    public required long Bytes { get; init; }

    /// <summary>Against the double-precision reference, at <see cref="ValidatedShape"/>.</summary>
    public double? MaxRelError { get; init; }
    public string? ValidatedShape { get; init; }

    /// <summary>ok, inaccurate (error above the tolerance), not_implemented or failed.</summary>
    public required string Status { get; init; }
    public string? Message { get; init; }
    public int Samples { get; init; }

    /// <summary>The share of the cores' time other processes took while the row was timed (see <see cref="QuietMeter"/>).</summary>
    public double? OthersBusy { get; init; }
    public int CallsPerSample { get; init; }
    public required IReadOnlyList<string> Layers { get; init; }

    [JsonIgnore]
    public bool Timed => Ms is not null;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a NaN error is data, not a crash
    };

    public static void WriteJson(string path, IEnumerable<Row> rows)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, JsonSerializer.Serialize(rows.ToList(), Json));
    }
}
