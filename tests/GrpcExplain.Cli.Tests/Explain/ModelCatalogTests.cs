using GrpcExplain.Cli.Explain;

namespace GrpcExplain.Cli.Tests.Explain;

/// <summary>How bundled pairings are found and chosen: trained ones before synthetic placeholders.</summary>
public sealed class ModelCatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-models-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Pairing(string name, string? card, params string[] classifiers)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        File.WriteAllText(Path.Combine(folder, ModelPairing.GeneratorFile), "");
        foreach (var c in classifiers) Directory.CreateDirectory(Path.Combine(folder, ModelPairing.ClassifiersFolder, c, "1"));
        if (card is not null) File.WriteAllText(Path.Combine(folder, ModelPairing.CardFile), card);
    }

    [Fact]
    public void TrainedPairingsComeBeforeSyntheticOnes()
    {
        Pairing("a-placeholder", "---\nsynthetic: true\n---\n# placeholder\n", "probe");
        Pairing("histology", "---\ndataset: PCam\n---\n# trained\n", "resnet");
        Pairing("radiology", "# no front matter\nsynthetic: true\n", "kl_grade");
        Directory.CreateDirectory(Path.Combine(_dir, "not-a-pairing"));

        var pairings = ModelCatalog.Scan(_dir);
        Assert.Equal(["histology", "radiology", "a-placeholder"], pairings.Select(p => p.Name));
        Assert.Equal([false, false, true], pairings.Select(p => p.Synthetic));
        Assert.Equal(["resnet"], pairings[0].Classifiers);
    }

    [Fact]
    public void TheBundledPlaceholderSaysItIsSynthetic()
    {
        var bundled = ModelCatalog.Scan(ModelCatalog.FindRoot(null)).Single(p => p.Name == "synthetic-64");
        Assert.True(bundled.Synthetic);
        Assert.Equal(["synthetic_direction"], bundled.Classifiers);
        Assert.Equal(3, bundled.Examples.Count);
        Assert.True(new FileInfo(bundled.GeneratorPath).Length < 4 << 20, "the placeholder generator stays a few MB");
    }

    [Fact]
    public void AClassifierInSeveralPairingsNeedsItsPairingNamed()
    {
        Pairing("one", null, "shared", "only_one");
        Pairing("two", null, "shared");
        Assert.Equal(("one", "only_one"), (ModelCatalog.Resolve(_dir, "only_one").Pairing.Name, ModelCatalog.Resolve(_dir, "only_one").Classifier));
        Assert.Equal("two", ModelCatalog.Resolve(_dir, "two/shared").Pairing.Name);
        var e = Assert.Throws<UsageException>(() => ModelCatalog.Resolve(_dir, "shared"));
        Assert.Contains("write PAIRING/shared", e.Message, StringComparison.Ordinal);
        Assert.Contains("one/only_one", Assert.Throws<UsageException>(() => ModelCatalog.Resolve(_dir, "missing")).Message, StringComparison.Ordinal);
    }
}
