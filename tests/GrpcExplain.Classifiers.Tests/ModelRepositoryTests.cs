namespace GrpcExplain.Classifiers.Tests;

public class ModelRepositoryTests
{
    [Fact]
    public void LoadsEveryModelWithItsVersions()
    {
        using var repo = Fixtures.LoadRepository();
        Assert.Equal(["tiny_cnn", "tiny_cnn_u8"], repo.Models.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(repo.Failures);
        Assert.Equal([1L], repo.Models["tiny_cnn"].Versions.Keys);
    }

    [Theory]
    [InlineData("resnet", "", "No model 'resnet'; this server has tiny_cnn, tiny_cnn_u8.")]
    [InlineData("tiny_cnn", "2", "Model 'tiny_cnn' has no version '2'; it has 1.")]
    [InlineData("tiny_cnn", "-1", "Model 'tiny_cnn' has no version '-1'; it has 1.")]
    [InlineData("tiny_cnn", "one", "Model 'tiny_cnn' has no version 'one'; it has 1.")]
    public void UnknownModelsAndVersionsAreNotFound(string model, string version, string message)
    {
        using var repo = Fixtures.LoadRepository();
        var e = Assert.Throws<ModelNotFoundException>(() => repo.Resolve(model, version));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void HighestVersionByDefaultAndBrokenModelsLeftOutWithTheirReason()
    {
        using var temp = new TempFolder();
        string root = Fixtures.CopyRepository(temp.Path);
        // Version 10 beside 1 (numeric order, not text order), a folder that is no version, a corrupt model, a model without versions.
        Directory.CreateDirectory(Path.Combine(root, "tiny_cnn", "10"));
        File.Copy(Path.Combine(root, "tiny_cnn", "1", "model.onnx"), Path.Combine(root, "tiny_cnn", "10", "model.onnx"));
        Directory.CreateDirectory(Path.Combine(root, "tiny_cnn", "latest"));
        Directory.CreateDirectory(Path.Combine(root, "corrupt", "1"));
        File.WriteAllText(Path.Combine(root, "corrupt", "1", "model.onnx"), "not a model");
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        File.WriteAllText(Path.Combine(root, "tiny_cnn_u8", "classifier.json"), File.ReadAllText(Path.Combine(root, "tiny_cnn_u8", "classifier.json")).Replace("\"logit\"", "\"score\"", StringComparison.Ordinal));

        using var repo = Fixtures.LoadRepository(root: root);
        Assert.Equal([1L, 10L], repo.Models["tiny_cnn"].Versions.Keys);
        Assert.Equal(10, repo.Resolve("tiny_cnn", "").Version);
        Assert.Equal(["corrupt", "empty", "tiny_cnn_u8"], repo.Failures.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("ONNX Runtime cannot load the model", repo.Failures["corrupt"], StringComparison.Ordinal);
        Assert.Contains("no version folder (1, 2, ...) holding model.onnx", repo.Failures["empty"], StringComparison.Ordinal);
        Assert.Contains("does not fit version 1: the model has no output 'score'", repo.Failures["tiny_cnn_u8"], StringComparison.Ordinal);
        var e = Assert.Throws<ModelNotFoundException>(() => repo.Resolve("corrupt", ""));
        Assert.Contains("(it failed to load: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AModelWithoutConfigIsServedButIsNoClassifier()
    {
        using var temp = new TempFolder();
        string root = Fixtures.CopyRepository(temp.Path);
        File.Delete(Path.Combine(root, "tiny_cnn", "classifier.json"));
        using var repo = Fixtures.LoadRepository(root: root);
        Assert.Null(repo.Models["tiny_cnn"].Config);
        Assert.Equal(ClassifierConfig.DefaultMaxBatchSize, repo.Resolve("tiny_cnn", "1").Onnx.MaxBatchSize);
        var e = Assert.Throws<InvalidDataException>(() => OnnxClassifier.FromRepository(repo, "tiny_cnn"));
        Assert.Contains("has no classifier.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingRepositoryIsNamed()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => Fixtures.LoadRepository(root: "/nonexistent/models"));
        Assert.Equal("The model repository '/nonexistent/models' does not exist.", e.Message);
    }
}
