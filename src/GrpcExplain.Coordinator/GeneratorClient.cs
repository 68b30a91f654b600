using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Protos.V1;

namespace GrpcExplain.Coordinator;

/// <summary>
/// The generator service behind the method's <see cref="IGeneratorClient"/> and <see cref="ILatentEncoder"/>.
/// Every call has a deadline; a failure that is not the caller's cancellation becomes a
/// <see cref="DependencyException"/> naming the generator, so a generator that dies mid-stream ends
/// the explanation with UNAVAILABLE rather than a hang.
/// </summary>
internal sealed class GeneratorClient(GrpcChannel channel, Uri address, CoordinatorServiceOptions options) : IGeneratorClient, ILatentEncoder, IDisposable
{
    private readonly GeneratorService.GeneratorServiceClient _client = new(channel);
    private GeneratorInfo? _info;

    public Uri Address => address;

    public GrpcChannel Channel => channel;

    /// <summary>Asks the generator which model it serves (once per request: a restarted generator may serve another).</summary>
    public async Task<GeneratorInfo> RefreshInfoAsync(CancellationToken cancellationToken)
    {
        var info = await Call("GetModelInfo", async deadline =>
        {
            var r = await _client.GetModelInfoAsync(new GetModelInfoRequest(), deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new GeneratorInfo(r.ZDim, r.CDim, r.WDim, r.NumWs, r.ImageChannels, r.ImageResolutionPixels, r.WeightsSha256, Math.Max(1, r.MaxBatchSize));
        }, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _info, info);
        return info;
    }

    public async Task<GeneratorInfo> GetInfoAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _info) ?? await RefreshInfoAsync(cancellationToken).ConfigureAwait(false);

    public Task<Latents> MapAsync(float[] z, float[]? c, int count, float truncationPsi, CancellationToken cancellationToken) =>
        Call("MapLatents", async deadline =>
        {
            var info = await GetInfoAsync(cancellationToken).ConfigureAwait(false);
            var request = new MapLatentsRequest { Z = TensorMessages.ToProto(z, count, info.ZDim), TruncationPsi = truncationPsi };
            if (c is not null) request.C = TensorMessages.ToProto(c, count, info.CDim);
            var response = await _client.MapLatentsAsync(request, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            // Without a cutoff every layer's w is the same: keep one per sample.
            var ws = Floats(response.Ws);
            var w = new float[count * info.WDim];
            for (int n = 0; n < count; n++) ws.AsSpan(n * info.NumWs * info.WDim, info.WDim).CopyTo(w.AsSpan(n * info.WDim));
            return new Latents(w, count, info.WDim);
        }, cancellationToken);

    public Task<ImageBatch> SynthesizeAsync(Latents ws, CancellationToken cancellationToken) =>
        Call("Synthesize", async deadline =>
        {
            ArgumentNullException.ThrowIfNull(ws);
            var request = new SynthesizeRequest { Ws = TensorMessages.ToProto(ws.Values, ws.Shape), IncludeTensor = true };
            AddNoiseMaps(ws, request.NoiseMaps);
            var response = await _client.SynthesizeAsync(request, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            var shape = response.Images.Shape;
            return new ImageBatch(Floats(response.Images), (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]);
        }, cancellationToken);

    public Task<Latents> LatentGradientAsync(Latents ws, float[] imageGradient, CancellationToken cancellationToken) =>
        Call("LatentGradient", async deadline =>
        {
            ArgumentNullException.ThrowIfNull(ws);
            var info = await GetInfoAsync(cancellationToken).ConfigureAwait(false);
            var request = new LatentGradientRequest
            {
                Ws = TensorMessages.ToProto(ws.Values, ws.Shape),
                ImageGradient = TensorMessages.ToProto(imageGradient, ws.Count, info.ImageChannels, info.ImageResolution, info.ImageResolution),
            };
            AddNoiseMaps(ws, request.NoiseMaps);
            var response = await _client.LatentGradientAsync(request, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new Latents(Floats(response.WsGradient), ws.Count, ws.WDim, ws.NumWs);
        }, cancellationToken);

    public async IAsyncEnumerable<ProjectionEvent> ProjectAsync(ImageBatch image, ProjectionOptions projection, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(projection);
        var request = new ProjectRequest
        {
            Image = new Protos.V1.Image { Tensor = TensorMessages.ToProto(image.Pixels, image.Channels, image.Height, image.Width) },
            LatentSpace = projection.WPlus ? LatentSpace.WPlus : LatentSpace.W,
            NumSteps = projection.NumSteps,
            OptimizeNoise = projection.OptimizeNoise,
        };
        using var call = _client.Project(request, deadline: DateTime.UtcNow + options.ProjectionTimeout, cancellationToken: cancellationToken);
        while (true)
        {
            ProjectResponse response;
            try
            {
                if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false)) break;
                response = call.ResponseStream.Current;
            }
            catch (Exception e) when (Failed(e, cancellationToken))
            {
                throw Failure("Project", e);
            }
            switch (response.EventCase)
            {
                case ProjectResponse.EventOneofCase.Progress:
                    var p = response.Progress;
                    yield return new ProjectionProgress(p.Step, p.NumSteps, p.Loss, p.ElapsedSeconds);
                    break;
                case ProjectResponse.EventOneofCase.Result:
                    var r = response.Result;
                    var shape = r.Ws.Shape;
                    var ws = (shape.Count == 3 ? new Latents(Floats(r.Ws), 1, (int)shape[2], (int)shape[1]) : new Latents(Floats(r.Ws), 1, (int)shape[^1]))
                        with { NoiseMaps = r.NoiseMaps.Count == 0 ? null : r.NoiseMaps.ToDictionary(m => m.Key, m => Floats(m.Value)) };
                    var reconstruction = new ImageBatch(Floats(r.Reconstruction), 1, image.Channels, image.Height, image.Width);
                    yield return new Projection(ws, reconstruction, r.MeanSquaredError, r.Start == ProjectionStart.Encoder);
                    yield break;
            }
        }
        throw new DependencyException(Dependency.Generator, $"The generator at {address} ended its Project stream without a result.");
    }

    private async Task<T> Call<T>(string rpc, Func<DateTime, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(DateTime.UtcNow + options.DependencyCallTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (Failed(e, cancellationToken))
        {
            throw Failure(rpc, e);
        }
    }

    /// <summary>Anything but the caller's own cancellation (and a failure already named) is the generator's failure.</summary>
    private static bool Failed(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && e is not DependencyException && e is RpcException or HttpRequestException or IOException or InvalidOperationException or ArgumentException;

    private DependencyException Failure(string rpc, Exception e) => new(Dependency.Generator, e is RpcException rpcError
        ? $"The generator at {address} failed in {rpc}: {rpcError.StatusCode}: {rpcError.Status.Detail}"
        : $"The generator at {address} failed in {rpc}: {e.Message}", e);

    /// <summary>The latents' own noise maps, as [1, 1, r, r] tensors, when they have them.</summary>
    private static void AddNoiseMaps(Latents ws, Google.Protobuf.Collections.MapField<string, Protos.V1.Tensor> target)
    {
        if (ws.NoiseMaps is not { } maps) return;
        foreach (var (layer, map) in maps)
        {
            int side = (int)Math.Round(Math.Sqrt(map.Length));
            target[layer] = TensorMessages.ToProto(map, 1, 1, side, side);
        }
    }

    public void Dispose() => channel.Dispose();

    private static float[] Floats(Protos.V1.Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();
}
