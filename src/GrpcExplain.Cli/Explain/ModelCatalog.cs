namespace GrpcExplain.Cli.Explain;

/// <summary>
/// One bundled model pairing, <c>models/NAME/</c>: a generator (<c>generator.safetensors</c>) and the
/// classifiers of its images as a Triton-layout repository (<c>classifiers/MODEL/VERSION/model.onnx</c>
/// with <c>classifiers/MODEL/classifier.json</c>), described by <c>MODEL_CARD.md</c>. A card whose
/// front matter says <c>synthetic: true</c> marks a placeholder with random weights, which the demo
/// uses only when nothing trained is bundled. <c>examples/*.png</c>, when present, are inputs the demo
/// explains.
/// </summary>
internal sealed record ModelPairing(string Name, string Folder, bool Synthetic, IReadOnlyList<string> Classifiers)
{
    public const string GeneratorFile = "generator.safetensors";
    public const string ClassifiersFolder = "classifiers";
    public const string CardFile = "MODEL_CARD.md";
    public const string ExamplesFolder = "examples";

    public string GeneratorPath => Path.Combine(Folder, GeneratorFile);

    public string ClassifierRepository => Path.Combine(Folder, ClassifiersFolder);

    public string CardPath => Path.Combine(Folder, CardFile);

    public IReadOnlyList<string> Examples =>
        Directory.Exists(Path.Combine(Folder, ExamplesFolder))
            ? [.. Directory.EnumerateFiles(Path.Combine(Folder, ExamplesFolder), "*.png").Order(StringComparer.Ordinal)]
            : [];
}

/// <summary>
/// Finds the bundled models and the pairing a classifier belongs to. The models folder is the one
/// named by <c>--models</c>; otherwise <c>models/</c> beside the executable (a published layout), or in
/// the repository root above the executable or the current folder (the folder holding GrpcExplain.sln).
/// </summary>
internal static class ModelCatalog
{
    public const string SolutionFile = "GrpcExplain.sln";

    /// <summary>The models folder, or a <see cref="UsageException"/> saying where it looked.</summary>
    public static string FindRoot(string? named)
    {
        if (named is not null)
        {
            if (!Directory.Exists(named)) throw new UsageException($"--models '{named}': no such folder.");
            return Path.GetFullPath(named);
        }
        var beside = Path.Combine(AppContext.BaseDirectory, "models");
        if (Directory.Exists(beside)) return beside;
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, SolutionFile)) && Directory.Exists(Path.Combine(dir.FullName, "models")))
                    return Path.Combine(dir.FullName, "models");
        throw new UsageException($"no models folder found (looked beside the executable and for the repository root, the folder with {SolutionFile}, " +
            "above it and above the current folder): name one with --models DIR.");
    }

    /// <summary>Every pairing under <paramref name="root"/> (folders with a generator), trained ones first, then by name.</summary>
    public static IReadOnlyList<ModelPairing> Scan(string root) =>
    [
        .. Directory.EnumerateDirectories(root)
            .Where(folder => File.Exists(Path.Combine(folder, ModelPairing.GeneratorFile)))
            .Select(Read)
            .OrderBy(p => p.Synthetic)
            .ThenBy(p => p.Name, StringComparer.Ordinal),
    ];

    /// <summary>
    /// The pairing of a classifier named MODEL (unique among the pairings) or PAIRING/MODEL, with the
    /// model's name; a <see cref="UsageException"/> listing what exists otherwise.
    /// </summary>
    public static (ModelPairing Pairing, string Classifier) Resolve(string root, string classifier)
    {
        var pairings = Scan(root);
        string? pairingName = null, model = classifier;
        if (classifier.Split('/') is [var p, var m])
            (pairingName, model) = (p, m);
        var matches = pairings.Where(p => (pairingName is null || p.Name == pairingName) && p.Classifiers.Contains(model)).ToList();
        if (matches.Count == 1) return (matches[0], model);
        string known = pairings.Count == 0
            ? $"{root} holds no model pairing (folders with {ModelPairing.GeneratorFile})"
            : "the bundled classifiers are " + string.Join(", ", pairings.SelectMany(p => p.Classifiers.Select(c => $"{p.Name}/{c}")));
        if (matches.Count == 0) throw new UsageException($"--classifier '{classifier}': no such classifier; {known}.");
        throw new UsageException($"--classifier '{classifier}' is in several pairings ({string.Join(", ", matches.Select(p => p.Name))}): write PAIRING/{model}.");
    }

    private static ModelPairing Read(string folder)
    {
        var repository = Path.Combine(folder, ModelPairing.ClassifiersFolder);
        IReadOnlyList<string> classifiers = Directory.Exists(repository)
            ? [.. Directory.EnumerateDirectories(repository).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
        return new ModelPairing(Path.GetFileName(folder), folder, IsSynthetic(Path.Combine(folder, ModelPairing.CardFile)), classifiers);
    }

    /// <summary>
    /// Whether the model card's front matter (the YAML block between two <c>---</c> lines at its top, as
    /// Hugging Face model cards keep their metadata) says <c>synthetic: true</c>.
    /// </summary>
    internal static bool IsSynthetic(string cardPath)
    {
        if (!File.Exists(cardPath)) return false;
        using var reader = new StreamReader(cardPath);
        if (reader.ReadLine()?.Trim() != "---") return false;
        for (var line = reader.ReadLine(); line is not null && line.Trim() != "---"; line = reader.ReadLine())
        {
            var parts = line.Split(':', 2, StringSplitOptions.TrimEntries);
            if (parts is ["synthetic", var value]) return value.Equals("true", StringComparison.OrdinalIgnoreCase);
        }
        return false;
    }
}
