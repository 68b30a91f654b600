using Grpc.Core;
using Grpc.Net.Client;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifiers;

public sealed record OipClassifierOptions
{
    /// <summary>Send images as raw_input_contents (what Triton's clients do; compact) rather than fp32_contents.</summary>
    public bool RawContents { get; init; } = true;

    /// <summary>Deadline of one ModelInfer call (one batch of at most max_batch_size images).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Message size limit of a channel this classifier opens itself: images pass gRPC's 4 MB default.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024 * 1024;
}

/// <summary>
/// A classifier behind any Open Inference Protocol server: ours, Triton or KServe. The images are
/// preprocessed here, as the model's <see cref="ClassifierConfig"/> says, and sent as the model's own
/// input tensor, so the server needs to know nothing of ours. <see cref="ConnectAsync(GrpcChannel, string, string?, ClassifierConfig, OipClassifierOptions?, CancellationToken)"/>
/// checks the config against the server's ModelMetadata first, so a mismatch is found at start,
/// not at the first image. When the metadata lists our white-box outputs (<see cref="WhiteBoxOutputs"/>) and
/// the config can carry their gradient back to the images (an FP32 input, softmax over logits), the
/// classifier is an <see cref="OipWhiteBoxClassifier"/>.
/// </summary>
public class OipClassifier : IClassifier
{
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;
    private readonly ClassifierConfig _config;
    private readonly OipClassifierOptions _options;
    private readonly GrpcChannel? _ownedChannel;

    private protected OipClassifier(GRPCInferenceService.GRPCInferenceServiceClient client, ClassifierConfig config, OipClassifierOptions options,
        ClassifierDescription description, GrpcChannel? ownedChannel)
    {
        _client = client;
        _config = config;
        _options = options;
        Description = description;
        _ownedChannel = ownedChannel;
    }

    public ClassifierDescription Description { get; }

    /// <summary>Opens a channel of its own to <paramref name="address"/> (http://host:port), closed on Dispose.</summary>
    public static async Task<OipClassifier> ConnectAsync(Uri address, string model, string? version, ClassifierConfig config,
        OipClassifierOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new OipClassifierOptions();
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = options.MaxMessageBytes,
            MaxSendMessageSize = options.MaxMessageBytes,
        });
        try
        {
            return await ConnectCoreAsync(channel, channel, model, version, config, options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    /// <summary>Uses a channel the caller owns and disposes.</summary>
    public static Task<OipClassifier> ConnectAsync(GrpcChannel channel, string model, string? version, ClassifierConfig config,
        OipClassifierOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectCoreAsync(channel, null, model, version, config, options ?? new OipClassifierOptions(), cancellationToken);

    private static async Task<OipClassifier> ConnectCoreAsync(GrpcChannel channel, GrpcChannel? owned, string model, string? version,
        ClassifierConfig config, OipClassifierOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var metadata = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = model, Version = version ?? "" },
            deadline: DateTime.UtcNow + options.CallTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        var problems = config.ProblemsWith([.. metadata.Inputs.Select(OipTensors.Spec)], [.. metadata.Outputs.Select(OipTensors.Spec)]);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"The config does not fit model '{model}' as the server declares it: {string.Join("; ", problems)}.");
        }
        // Without a version the server picks one per request; name the one it reports as newest only
        // when it reports exactly one, so the description never claims more than is known.
        string described = !string.IsNullOrEmpty(version) ? version : metadata.Versions.Count == 1 ? metadata.Versions[0] : "";
        var description = new ClassifierDescription(model, described, config.Input.Channels, config.Input.Height, config.Input.Width, config.ClassLabels, config.Fit);
        return OipWhiteBoxClassifier.Offered(model, config, metadata)
            ? new OipWhiteBoxClassifier(client, config, options, description, owned)
            : new OipClassifier(client, config, options, description, owned);
    }

    private protected ClassifierConfig Config => _config;

    public async Task<Predictions> ClassifyAsync(ImageBatch images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        var probabilities = new float[images.Count * _config.ClassLabels.Count];
        await InferAsync(images, [_config.Output.Name], null, (response, start, count) => ReadProbabilities(response, count).CopyTo(probabilities, start * _config.ClassLabels.Count),
            cancellationToken).ConfigureAwait(false);
        return new Predictions(probabilities, images.Count, _config.ClassLabels);
    }

    /// <summary>
    /// One ModelInfer per batch of at most max_batch_size images, preprocessed as the config says, asking for
    /// <paramref name="outputs"/>; <paramref name="configure"/> adds to each request, <paramref name="read"/>
    /// takes each response with its batch's first image and count.
    /// </summary>
    private protected async Task InferAsync(ImageBatch images, IReadOnlyList<string> outputs, Action<ModelInferRequest>? configure,
        Action<ModelInferResponse, int, int> read, CancellationToken cancellationToken)
    {
        Preprocessing.CheckImages(_config, images);
        for (int start = 0; start < images.Count; start += _config.MaxBatchSize)
        {
            int count = Math.Min(_config.MaxBatchSize, images.Count - start);
            var input = Preprocessing.ToModelInput(_config, images, start, count);
            var request = OipTensors.Request(Description.Model, Description.Version, [input], outputs, _options.RawContents);
            configure?.Invoke(request);
            ModelInferResponse response;
            try
            {
                response = await _client.ModelInferAsync(request, deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The classification was cancelled.", e, cancellationToken);
            }
            read(response, start, count);
        }
    }

    private protected float[] ReadProbabilities(ModelInferResponse response, int count) =>
        Postprocessing.ToProbabilities(_config, OipTensors.ReadOutput(response, _config.Output.Name), count);

    public void Dispose()
    {
        _ownedChannel?.Dispose();
        GC.SuppressFinalize(this);
    }
}
