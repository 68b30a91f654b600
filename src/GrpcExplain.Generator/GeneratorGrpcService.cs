using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Projection;
using Microsoft.Extensions.Options;
using ProtoNoiseMode = GrpcExplain.Protos.V1.NoiseMode;

namespace GrpcExplain.Generator;

/// <summary>
/// GeneratorService: checks each request against the loaded generator (<see cref="LatentChecks"/>),
/// runs it on <see cref="GeneratorModel"/> one call at a time, and translates the result back.
/// Logs say what was asked and how long it took, never what an image or latent holds.
/// </summary>
internal sealed partial class GeneratorGrpcService(GeneratorModel model, IOptions<GeneratorServiceOptions> options, ILogger<GeneratorGrpcService> log)
    : GeneratorService.GeneratorServiceBase
{
    private readonly GeneratorServiceOptions _options = options.Value;

    public override Task<GetModelInfoResponse> GetModelInfo(GetModelInfoRequest request, ServerCallContext context)
    {
        var generator = model.Require();
        var config = generator.Config;
        var response = new GetModelInfoResponse
        {
            ZDim = config.ZDim, CDim = config.CDim, WDim = config.WDim, NumWs = config.NumWs,
            ImageResolutionPixels = config.ImgResolution, ImageChannels = config.ImgChannels,
            MappingLayers = config.MappingLayers, Architecture = config.Architecture,
            Backend = generator.Backend.Name, Device = generator.Backend.Device,
            WeightsSha256 = generator.Weights.ContentHash, MaxBatchSize = _options.MaxBatchSize, HasEncoder = model.Encoder is not null,
        };
        response.NoiseLayers.AddRange(LatentChecks.NoiseLayers(config));
        return Task.FromResult(response);
    }

    public override async Task<MapLatentsResponse> MapLatents(MapLatentsRequest request, ServerCallContext context)
    {
        var clock = Stopwatch.StartNew();
        var checks = new LatentChecks(model.Require().Config, _options, nameof(MapLatentsRequest));
        var (z, c, psi, cutoff) = checks.Mapping(request);
        var config = checks.Config;
        int n = z.Batch, numWs = config.NumWs, wDim = config.WDim;
        var ws = await model.RunAsync(nameof(MapLatents), (generator, slices) =>
        {
            var result = new float[n * numWs * wDim];
            slices.Run(n, _options.ComputeBatchSize, (start, count) =>
                generator.Map(z.Rows(start, count), count, c?.Rows(start, count), psi, cutoff).CopyTo(result, start * numWs * wDim));
            return result;
        }, context.CancellationToken).ConfigureAwait(false);
        LogMapped(log, n, psi, cutoff, clock.ElapsedMilliseconds);
        return new MapLatentsResponse { Ws = TensorCodec.ToProto(ws, n, numWs, wDim) };
    }

    public override async Task<SynthesizeResponse> Synthesize(SynthesizeRequest request, ServerCallContext context)
    {
        var clock = Stopwatch.StartNew();
        var checks = new LatentChecks(model.Require().Config, _options, nameof(SynthesizeRequest));
        var (ws, noise, maps) = checks.Synthesis(request);
        var config = checks.Config;
        int n = ws.Batch, channels = config.ImgChannels, res = config.ImgResolution, imageLength = channels * res * res;
        var images = await model.RunAsync(nameof(Synthesize), (generator, slices) =>
        {
            var result = new float[n * imageLength];
            slices.Run(n, SliceSize(noise), (start, count) =>
                (maps is null ? generator.Synthesize(ws.Rows(start, count), count, noise, unchecked(request.NoiseSeed + start)) : generator.Synthesize(ws.Rows(start, count), count, maps))
                    .CopyTo(result, start * imageLength));
            return result;
        }, context.CancellationToken).ConfigureAwait(false);

        var response = new SynthesizeResponse();
        if (request.IncludeTensor) response.Images = TensorCodec.ToProto(images, n, channels, res, res);
        for (int i = 0; request.IncludePng && i < n; i++)
        {
            if (context.CancellationToken.IsCancellationRequested) throw GeneratorModel.Cancelled("Synthesize was cancelled (or its deadline passed) while its PNGs were encoded.");
            response.PngImages.Add(Google.Protobuf.ByteString.CopyFrom(PngImages.Encode(images.AsSpan(i * imageLength, imageLength), channels, res, res)));
        }
        LogSynthesized(log, ws.Kind, noise, request.IncludeTensor, request.IncludePng, clock.ElapsedMilliseconds);
        return response;
    }

    public override async Task<LatentGradientResponse> LatentGradient(LatentGradientRequest request, ServerCallContext context)
    {
        var clock = Stopwatch.StartNew();
        var checks = new LatentChecks(model.Require().Config, _options, nameof(LatentGradientRequest));
        var (ws, imageGradient, noise, maps) = checks.Gradient(request);
        var config = checks.Config;
        int n = ws.Batch, imageLength = config.ImgChannels * config.ImgResolution * config.ImgResolution;
        bool includeNoise = request.IncludeNoiseGradients;
        var (dWs, dNoise) = await model.RunAsync(nameof(LatentGradient), (generator, slices) =>
        {
            var result = new float[ws.Values.Length];
            var noiseGradients = new NoiseGradients(noise, n);
            slices.Run(n, SliceSize(noise), (start, count) =>
            {
                using var pass = maps is null ? generator.Forward(ws.Rows(start, count), count, noise, unchecked(request.NoiseSeed + start)) : generator.Forward(ws.Rows(start, count), count, maps);
                var gradient = pass.Backward(imageGradient.Values.AsSpan(start * imageLength, count * imageLength).ToArray(), includeNoise);
                gradient.Ws.CopyTo(result, start * ws.RowLength);
                if (gradient.Noise is { } mapGradients) noiseGradients.Add(mapGradients, start, count);
            });
            return (result, noiseGradients);
        }, context.CancellationToken).ConfigureAwait(false);

        var response = new LatentGradientResponse { WsGradient = TensorCodec.ToProto(dWs, [.. ws.Shape.Select(d => (int)d)]) };
        if (includeNoise) dNoise.AddTo(response.NoiseGradients);
        LogGradient(log, ws.Kind, noise, includeNoise, clock.ElapsedMilliseconds);
        return response;
    }

    /// <summary>
    /// Runs the projector on the generator (one call at a time, as every RPC) and streams what it
    /// reports through a channel, so that the stream has one writer and a slow client never blocks the
    /// steps (the channel holds at most a message a step). A client that goes away, or a deadline that passes, stops the steps; a cancelled call
    /// ends without a result.
    /// </summary>
    public override async Task Project(ProjectRequest request, IServerStreamWriter<ProjectResponse> responseStream, ServerCallContext context)
    {
        var checks = new LatentChecks(model.Require().Config, _options, nameof(ProjectRequest));
        var encoder = model.Encoder;
        var (target, projection, progressInterval) = checks.Projection(request, encoder is not null);
        if (projection.Start == StyleGan.Projection.ProjectionStart.Encoder && encoder is null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                "start is PROJECTION_START_ENCODER, but this generator has no encoder (train one with grpcexplain train encoder and put it beside the weights as encoder.safetensors); leave start unset or use PROJECTION_START_W_AVG."));
        var config = checks.Config;
        var messages = Channel.CreateUnbounded<ProjectResponse>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var work = Task.Run(async () =>
        {
            try
            {
                return await model.RunAsync(nameof(Project), (generator, slices) =>
                {
                    slices.BeginSteps(projection.NumSteps);
                    var projector = new Projector(generator, model.ProjectionStart(generator, stop.Token), encoder);
                    var result = projector.Project(target, projection, p =>
                    {
                        slices.Step();
                        if (p.Step % progressInterval == 0 || p.Step == p.NumSteps || p.Reconstruction is not null)
                            messages.Writer.TryWrite(new ProjectResponse { Progress = ProjectionMessages.Progress(p, config) });
                    }, stop.Token);
                    messages.Writer.TryWrite(new ProjectResponse { Result = ProjectionMessages.Result(result, config) });
                    return result;
                }, stop.Token).ConfigureAwait(false);
            }
            finally
            {
                messages.Writer.TryComplete();
            }
        }, CancellationToken.None);

        try
        {
            await foreach (var message in messages.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The client is gone or the stream broke: stop the steps before answering.
            await stop.CancelAsync().ConfigureAwait(false);
            await work.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            if (e is not OperationCanceledException && CallEnd.Explains(e, context))
                throw new OperationCanceledException($"{nameof(Project)} ended by the client or its deadline while writing", e, context.CancellationToken);
            throw;
        }
        var done = await work.ConfigureAwait(false);
        LogProjected(log, projection.LatentSpace, done.Start, projection.NumSteps, projection.OptimizeNoise, done.PsnrDb, (long)done.Elapsed.TotalMilliseconds);
    }

    /// <summary>Random noise is drawn per sample (seed noise_seed + i), so that a sample's image does not depend on its batch.</summary>
    private int SliceSize(StyleGan.NoiseMode noise) => noise == StyleGan.NoiseMode.Random ? 1 : _options.ComputeBatchSize;

    [LoggerMessage(Level = LogLevel.Information, Message = "MapLatents: {Samples} samples, truncation psi {Psi} cutoff {Cutoff}, in {ElapsedMs} ms")]
    private static partial void LogMapped(ILogger logger, int samples, float psi, int? cutoff, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Synthesize: {Latents}, noise {Noise}, tensor {Tensor}, PNG {Png}, in {ElapsedMs} ms")]
    private static partial void LogSynthesized(ILogger logger, string latents, StyleGan.NoiseMode noise, bool tensor, bool png, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Project: {LatentSpace} from {Start}, {Steps} steps, noise maps optimised {OptimizeNoise}, PSNR {PsnrDb:F1} dB, in {ElapsedMs} ms")]
    private static partial void LogProjected(ILogger logger, StyleGan.Projection.LatentSpace latentSpace, StyleGan.Projection.ProjectionStart start, int steps, bool optimizeNoise, double psnrDb, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "LatentGradient: {Latents}, noise {Noise}, noise gradients {NoiseGradients}, in {ElapsedMs} ms")]
    private static partial void LogGradient(ILogger logger, string latents, StyleGan.NoiseMode noise, bool noiseGradients, long elapsedMs);

    /// <summary>
    /// dL/d(noise map) by layer over a request's slices: the stored maps (const) are shared by every
    /// sample, so their gradients add up; drawn maps (random) are one per sample, [N, 1, r, r].
    /// </summary>
    private sealed class NoiseGradients(StyleGan.NoiseMode noise, int batch)
    {
        private readonly Dictionary<string, (float[] Values, int Resolution)> _maps = [];

        public void Add(IReadOnlyDictionary<string, float[]> maps, int start, int count)
        {
            foreach (var (layer, values) in maps)
            {
                if (noise == StyleGan.NoiseMode.Const)
                {
                    if (!_maps.TryGetValue(layer, out var sum)) _maps[layer] = sum = (new float[values.Length], (int)Math.Round(Math.Sqrt(values.Length)));
                    for (int i = 0; i < values.Length; i++) sum.Values[i] += values[i];
                }
                else
                {
                    int plane = values.Length / count;
                    if (!_maps.TryGetValue(layer, out var all)) _maps[layer] = all = (new float[batch * plane], (int)Math.Round(Math.Sqrt(plane)));
                    values.CopyTo(all.Values, start * plane);
                }
            }
        }

        public void AddTo(Google.Protobuf.Collections.MapField<string, Tensor> target)
        {
            foreach (var (layer, (values, r)) in _maps)
                target[layer] = noise == StyleGan.NoiseMode.Const ? TensorCodec.ToProto(values, 1, 1, r, r) : TensorCodec.ToProto(values, batch, 1, r, r);
        }
    }
}
