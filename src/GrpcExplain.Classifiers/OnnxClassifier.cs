using System.Globalization;
using GrpcExplain.Classifiers.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcExplain.Classifiers;

/// <summary>
/// A classifier run in this process by ONNX Runtime: one model version of a model repository, fed
/// and read as its <see cref="ClassifierConfig"/> says, in batches of at most its max_batch_size.
/// </summary>
public sealed class OnnxClassifier : IClassifier
{
    private readonly OnnxModel _model;
    private readonly ClassifierConfig _config;
    private readonly IDisposable? _owned;

    private OnnxClassifier(OnnxModel model, ClassifierConfig config, ClassifierDescription description, IDisposable? owned)
    {
        _model = model;
        _config = config;
        _owned = owned;
        Description = description;
    }

    public ClassifierDescription Description { get; }

    /// <summary>Where ONNX Runtime runs this model: "CUDA" or "CPU".</summary>
    public string ExecutionProvider => _model.ExecutionProvider;

    /// <summary>Opens one model of a repository (its highest version unless one is named); the model needs a classifier.json.</summary>
    public static OnnxClassifier Open(string repository, string model, string? version = null, OnnxOptions? options = null, ILogger? logger = null)
    {
        var repo = ModelRepository.Load(repository, options ?? new OnnxOptions(), logger ?? NullLogger.Instance, [model]);
        try
        {
            if (repo.Failures.TryGetValue(model, out string? reason))
            {
                throw new InvalidDataException($"Model '{model}' in '{repository}' did not load: {reason}");
            }
            var classifier = FromRepository(repo, model, version);
            return new OnnxClassifier(classifier._model, classifier._config, classifier.Description, repo);
        }
        catch
        {
            repo.Dispose();
            throw;
        }
    }

    /// <summary>A classifier over a model of an already loaded repository, which keeps owning it.</summary>
    public static OnnxClassifier FromRepository(ModelRepository repository, string model, string? version = null)
    {
        var (entry, v, onnx) = repository.Resolve(model, version);
        var config = entry.Config ?? throw new InvalidDataException(
            $"Model '{model}' has no {ClassifierConfig.FileName}: a classifier needs its input, normalization, output and class labels.");
        var description = new ClassifierDescription(model, v.ToString(CultureInfo.InvariantCulture),
            config.Input.Channels, config.Input.Height, config.Input.Width, config.ClassLabels, config.Fit);
        return new OnnxClassifier(onnx, config, description, null);
    }

    public Task<Predictions> ClassifyAsync(ImageBatch images, CancellationToken cancellationToken = default)
    {
        Preprocessing.CheckImages(_config, images);
        return Task.Run(() =>
        {
            int labels = _config.ClassLabels.Count;
            var probabilities = new float[images.Count * labels];
            for (int start = 0; start < images.Count; start += _config.MaxBatchSize)
            {
                int count = Math.Min(_config.MaxBatchSize, images.Count - start);
                var input = Preprocessing.ToModelInput(_config, images, start, count);
                var output = _model.Run([input], [_config.Output.Name], cancellationToken)[0];
                Postprocessing.ToProbabilities(_config, output, count).CopyTo(probabilities, start * labels);
            }
            return new Predictions(probabilities, images.Count, _config.ClassLabels);
        }, cancellationToken);
    }

    public void Dispose() => _owned?.Dispose();
}
