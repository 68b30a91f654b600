using System.Globalization;

namespace GrpcExplain.Training.Data;

/// <summary>
/// How a dataset's classes (sorted folder names, or the values of an array of labels) become the
/// labels a model trains on: unchanged, or merged, as the knee model's KL &gt;= 2 against KL &lt;= 1.
/// Its <see cref="Description"/> goes into the listing hash, so a cache built under one mapping is
/// never read under another.
/// </summary>
public sealed class LabelMapping
{
    private readonly Func<IReadOnlyList<string>, int[]> _map;

    private LabelMapping(string description, Func<IReadOnlyList<string>, int[]> map)
    {
        Description = description;
        _map = map;
    }

    /// <summary>Each class is its own label: class index i is label i.</summary>
    public static LabelMapping Identity { get; } = new("identity", classes => [.. Enumerable.Range(0, classes.Count)]);

    /// <summary>
    /// Binary on integer class names: label 1 when the class's number is at least <paramref name="threshold"/>,
    /// else 0 (knee-kl: <c>AtLeast(2)</c>, osteoarthritis KL &gt;= 2 against KL &lt;= 1).
    /// </summary>
    public static LabelMapping AtLeast(int threshold) => new(
        $"binary: class >= {threshold.ToString(CultureInfo.InvariantCulture)}",
        classes => [.. classes.Select(c => Number(c, threshold) >= threshold ? 1 : 0)]);

    /// <summary>Each class name to the label given; every class must be named and labels must be 0 .. k-1 without gaps.</summary>
    public static LabelMapping Explicit(IReadOnlyDictionary<string, int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var pairs = labels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value.ToString(CultureInfo.InvariantCulture)}");
        return new($"explicit: {string.Join(", ", pairs)}", classes =>
        [
            .. classes.Select(c => labels.TryGetValue(c, out int l)
                ? l
                : throw new InvalidDataException($"label mapping names no label for class '{c}' (it maps {string.Join(", ", labels.Keys)})")),
        ]);
    }

    public string Description { get; }

    /// <summary>The label of each class index, checked to be 0 .. k-1 with every label used.</summary>
    public int[] Map(IReadOnlyList<string> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        int[] labels = _map(classes);
        int count = labels.Length == 0 ? 0 : labels.Max() + 1;
        if (labels.Any(l => l < 0) || Enumerable.Range(0, count).Any(l => !labels.Contains(l)))
        {
            throw new InvalidDataException($"label mapping '{Description}' gives labels [{string.Join(", ", labels)}] for classes [{string.Join(", ", classes)}]; labels must be 0 .. k-1, each used.");
        }
        return labels;
    }

    public override string ToString() => Description;

    private static int Number(string className, int threshold) =>
        int.TryParse(className, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new InvalidDataException($"class '{className}' is not a number, so 'class >= {threshold}' cannot label it.");
}
