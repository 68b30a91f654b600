using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Generation;

namespace GrpcExplain.Coordinator;

/// <summary>
/// The classifiers the coordinator reaches, all through one Open Inference Protocol server: each model
/// (and version) is connected once, with its classifier.json from the config repository, and kept.
/// The classifiers handed out name themselves in every failure (<see cref="DependencyException"/>), and a
/// model whose metadata offers image gradients and Grad-CAM stays a white box (<see cref="IImageGradientClassifier"/>,
/// <see cref="IGradCamClassifier"/>).
/// </summary>
internal sealed class ClassifierCatalog(GrpcChannel channel, Uri address, CoordinatorServiceOptions options) : IDisposable
{
    private readonly ConcurrentDictionary<(string Name, string Version), Task<IClassifier>> _connected = new();

    public Uri Address => address;

    public GrpcChannel Channel => channel;

    /// <summary>
    /// The classifier, connected: FAILED_PRECONDITION when the coordinator has no classifier.json for it
    /// or the server's model does not fit it, NOT_FOUND when the server does not serve it, UNAVAILABLE
    /// when the server cannot be reached.
    /// </summary>
    public async Task<IClassifier> GetAsync(string name, string version, CancellationToken cancellationToken)
    {
        var key = (name, version);
        var connecting = _connected.GetOrAdd(key, k => ConnectAsync(k.Name, k.Version));
        try
        {
            return await connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (connecting.IsFaulted)
        {
            // Not kept: the next request tries again (the server may have come up meanwhile).
            _connected.TryRemove(new KeyValuePair<(string, string), Task<IClassifier>>(key, connecting));
            throw;
        }
    }

    private async Task<IClassifier> ConnectAsync(string name, string version)
    {
        string configPath = Path.Combine(options.ClassifierConfigRepository ?? "", name, ClassifierConfig.FileName);
        if (!File.Exists(configPath))
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"The coordinator has no {ClassifierConfig.FileName} for classifier '{name}' (looked for {configPath}): it needs one to feed the model images and read its output."));
        ClassifierConfig config;
        try
        {
            config = ClassifierConfig.Load(configPath);
        }
        catch (InvalidDataException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Classifier '{name}': {e.Message}"));
        }
        // Connecting is not a request's own work: a request that gives up leaves it to finish for the next one.
        using var timeout = new CancellationTokenSource(options.DependencyCallTimeout);
        try
        {
            var classifier = await OipClassifier.ConnectAsync(channel, name, string.IsNullOrEmpty(version) ? null : version, config,
                new OipClassifierOptions { CallTimeout = options.DependencyCallTimeout }, timeout.Token).ConfigureAwait(false);
            return classifier is OipWhiteBoxClassifier whiteBox ? new NamedWhiteBoxClassifier(whiteBox, address) : new NamedClassifier(classifier, address);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"The classifier service at {address} does not serve model '{name}'{(version.Length > 0 ? $" version {version}" : "")}: {e.Status.Detail}"));
        }
        catch (RpcException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"The classifier service at {address} did not answer for model '{name}': {e.StatusCode}: {e.Status.Detail}"));
        }
        catch (InvalidOperationException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Classifier '{name}': {e.Message}"));
        }
    }

    public void Dispose()
    {
        foreach (var connecting in _connected.Values)
            if (connecting.IsCompletedSuccessfully) connecting.Result.Dispose();
        channel.Dispose();
    }

    /// <summary>An Open Inference Protocol classifier whose failures say that the classifier failed, and which.</summary>
    private class NamedClassifier(IClassifier inner, Uri address) : IClassifier
    {
        public ClassifierDescription Description => inner.Description;

        public Task<Predictions> ClassifyAsync(ImageBatch images, CancellationToken cancellationToken = default) =>
            GuardAsync(() => inner.ClassifyAsync(images, cancellationToken), cancellationToken);

        protected async Task<T> GuardAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is RpcException or HttpRequestException or IOException or InvalidDataException)
            {
                string what = e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
                throw new DependencyException(Dependency.Classifier, $"The classifier '{Description.Model}' at {address} failed: {what}", e);
            }
        }

        public void Dispose() => inner.Dispose();
    }

    private sealed class NamedWhiteBoxClassifier(OipWhiteBoxClassifier inner, Uri address) : NamedClassifier(inner, address), IImageGradientClassifier, IGradCamClassifier
    {
        public Task<(Predictions Predictions, float[] Gradient)> ClassLogitGradientAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken) =>
            GuardAsync(() => inner.ClassLogitGradientAsync(images, targetClass, cancellationToken), cancellationToken);

        public Task<float[]> GradCamAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken) =>
            GuardAsync(() => inner.GradCamAsync(images, targetClass, cancellationToken), cancellationToken);
    }
}
