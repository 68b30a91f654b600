using GrpcExplain.Classifiers.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcExplain.Classifiers;

/// <summary>
/// A white-box model of a repository run in this process: probabilities from its ONNX graph, exactly as an
/// <see cref="OnnxClassifier"/> gives them, and the class logit's image gradient and Grad-CAM from the
/// reference CNN beside it (<see cref="WhiteBoxModel"/>), each with the same preprocessing — what the
/// classifier service and an <see cref="OipWhiteBoxClassifier"/> give over the network, without one.
/// </summary>
public sealed class OnnxWhiteBoxClassifier : IImageGradientClassifier, IGradCamClassifier
{
    private readonly OnnxClassifier _onnx;
    private readonly WhiteBoxModel _whiteBox;
    private readonly ClassifierConfig _config;
    private readonly ModelRepository _repository;

    private OnnxWhiteBoxClassifier(OnnxClassifier onnx, WhiteBoxModel whiteBox, ClassifierConfig config, ModelRepository repository) =>
        (_onnx, _whiteBox, _config, _repository) = (onnx, whiteBox, config, repository);

    public ClassifierDescription Description => _onnx.Description;

    /// <summary>
    /// One model of a repository (its highest version unless one is named): white-box when its folder has
    /// <c>reference.safetensors</c> (checked to be the ONNX graph's network), otherwise an <see cref="OnnxClassifier"/>.
    /// </summary>
    public static IClassifier Open(string repository, string model, string? version = null, OnnxOptions? options = null, ILogger? logger = null)
    {
        if (!File.Exists(WhiteBoxModel.WeightsFile(Path.Combine(repository, model)))) return OnnxClassifier.Open(repository, model, version, options, logger);
        var repo = ModelRepository.Load(repository, options ?? new OnnxOptions(), logger ?? NullLogger.Instance, [model]);
        WhiteBoxModel? whiteBox = null;
        try
        {
            if (repo.Failures.TryGetValue(model, out string? reason))
                throw new InvalidDataException($"Model '{model}' in '{repository}' did not load: {reason}");
            var onnx = OnnxClassifier.FromRepository(repo, model, version);
            var (entry, v, session) = repo.Resolve(model, version);
            var config = entry.Config!;
            whiteBox = WhiteBoxModel.TryLoad(Path.Combine(repository, model))!;
            whiteBox.CheckAgainst(session, config.Output.Name, $"model '{model}' version {v}");
            if (config.Input.Datatype != DataType.Fp32 || config.Output.Activation != Activation.Softmax)
                throw new InvalidDataException($"Model '{model}': {ClassifierConfig.FileName} must feed the white box an FP32 input and read softmax logits " +
                    $"(it says {DataTypes.Name(config.Input.Datatype)}, {config.Output.Activation}).");
            return new OnnxWhiteBoxClassifier(onnx, whiteBox, config, repo);
        }
        catch
        {
            whiteBox?.Dispose();
            repo.Dispose();
            throw;
        }
    }

    public Task<Predictions> ClassifyAsync(ImageBatch images, CancellationToken cancellationToken = default) => _onnx.ClassifyAsync(images, cancellationToken);

    public async Task<(Predictions Predictions, float[] Gradient)> ClassLogitGradientAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken)
    {
        Description.CheckClass(targetClass);
        var predictions = await ClassifyAsync(images, cancellationToken).ConfigureAwait(false);
        var input = Preprocessing.ToModelInput(_config, images, 0, images.Count);
        var gradient = await _whiteBox.LogitGradientAsync(input.Floats, images.Count, targetClass, cancellationToken).ConfigureAwait(false);
        return (predictions, InputGradient.ToImages(_config, Tensor.Fp32(input.Name, [.. input.Shape], gradient), images.Count));
    }

    public Task<float[]> GradCamAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken)
    {
        Description.CheckClass(targetClass);
        var input = Preprocessing.ToModelInput(_config, images, 0, images.Count);
        return _whiteBox.GradCamAsync(input.Floats, images.Count, targetClass, cancellationToken);
    }

    public void Dispose()
    {
        _whiteBox.Dispose();
        _onnx.Dispose();
        _repository.Dispose();
    }
}
