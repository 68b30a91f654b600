using System.Runtime.CompilerServices;
using System.Threading.Channels;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Projection;
using GrpcExplain.StyleGan.Weights;
using StyleGanGenerator = GrpcExplain.StyleGan.Generator;
using StyleGanLatentSpace = GrpcExplain.StyleGan.Projection.LatentSpace;
using StyleGanProjectionOptions = GrpcExplain.StyleGan.Projection.ProjectionOptions;
using StyleGanProjectionProgress = GrpcExplain.StyleGan.Projection.ProjectionProgress;

namespace GrpcExplain.Cli.Explain;

/// <summary>
/// The method's generator without a service: StyleGan's <see cref="StyleGanGenerator"/> and
/// <see cref="Projector"/> in this process. The generator is not thread-safe, so calls take turns; each
/// runs on the thread pool, so the walk still synthesises the next frame while the current one is
/// classified. Projection starts, as the generator service's does, from the encoder beside the weights
/// (encoder.safetensors, when it was trained for them) or else from the mean w of 10,000 mapped samples,
/// computed once; 0 steps means <see cref="EncoderStartSteps"/> or <see cref="WAvgStartSteps"/>.
/// </summary>
internal sealed class InProcessGenerator : IGeneratorClient, ILatentEncoder, IDisposable
{
    public const int MaxBatchSize = 64;
    private const int StartSamples = 10_000;

    /// <summary>Default projection steps from the mean w and from the encoder (docs/benchmarks.md: on the trained defaults the encoder and 40 steps reconstruct real images as well as 100 from the mean).</summary>
    public const int WAvgStartSteps = 100, EncoderStartSteps = 40;

    private readonly StyleGanGenerator _generator;
    private readonly StyleGan.Encoding.Encoder? _encoder;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private WStatistics? _start;

    private InProcessGenerator(StyleGanGenerator generator, StyleGan.Encoding.Encoder? encoder, string? encoderRefusal)
    {
        (_generator, _encoder, EncoderRefusal) = (generator, encoder, encoderRefusal);
        var c = generator.Config;
        Info = new GeneratorInfo(c.ZDim, c.CDim, c.WDim, c.NumWs, c.ImgChannels, c.ImgResolution, generator.Weights.ContentHash, MaxBatchSize);
    }

    public GeneratorInfo Info { get; }

    public string BackendName => _generator.Backend.Name;

    /// <summary>Whether projections start from an encoder.</summary>
    public bool HasEncoder => _encoder is not null;

    /// <summary>Why the encoder beside the weights is not used (trained for another generator, damaged), or null.</summary>
    public string? EncoderRefusal { get; }

    /// <param name="useEncoder">Start projections from the encoder beside the weights when it belongs to them; false always starts from the mean w.</param>
    public static InProcessGenerator Load(string weightsPath, BackendKind backendKind, bool useEncoder = true)
    {
        var weights = GeneratorWeights.Load(weightsPath);
        var backend = Backends.Create(backendKind);
        try
        {
            var generator = new StyleGanGenerator(backend, weights);
            string? refusal = null;
            var encoder = useEncoder ? StyleGan.Encoding.Encoder.TryLoadBeside(weightsPath, generator, out refusal) : null;
            return new InProcessGenerator(generator, encoder, refusal);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    public Task<GeneratorInfo> GetInfoAsync(CancellationToken cancellationToken) => Task.FromResult(Info);

    public Task<Latents> MapAsync(float[] z, float[]? c, int count, float truncationPsi, CancellationToken cancellationToken) =>
        RunAsync(g =>
        {
            // Without a cutoff every layer's w is the same: keep one per sample, as the service's client does.
            var ws = g.Map(z, count, c, truncationPsi);
            var w = new float[count * Info.WDim];
            for (int n = 0; n < count; n++) ws.AsSpan(n * Info.NumWs * Info.WDim, Info.WDim).CopyTo(w.AsSpan(n * Info.WDim));
            return new Latents(w, count, Info.WDim);
        }, cancellationToken);

    public Task<ImageBatch> SynthesizeAsync(Latents ws, CancellationToken cancellationToken) =>
        RunAsync(g => new ImageBatch(ws.NoiseMaps is { } maps ? g.Synthesize(ws.Values, ws.Count, maps) : g.Synthesize(ws.Values, ws.Count),
            ws.Count, Info.ImageChannels, Info.ImageResolution, Info.ImageResolution), cancellationToken);

    public Task<Latents> LatentGradientAsync(Latents ws, float[] imageGradient, CancellationToken cancellationToken) =>
        RunAsync(g =>
        {
            using var pass = ws.NoiseMaps is { } maps ? g.Forward(ws.Values, ws.Count, maps) : g.Forward(ws.Values, ws.Count);
            return new Latents(pass.Backward(imageGradient).Ws, ws.Count, ws.WDim, ws.NumWs);
        }, cancellationToken);

    /// <summary>Runs the projector on the pool and streams its steps through a channel, so the caller reads them as they come.</summary>
    public async IAsyncEnumerable<ProjectionEvent> ProjectAsync(ImageBatch image, GrpcExplain.Explain.Generation.ProjectionOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        var events = Channel.CreateUnbounded<ProjectionEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var projection = new StyleGanProjectionOptions
        {
            LatentSpace = options.WPlus ? StyleGanLatentSpace.WPlus : StyleGanLatentSpace.W,
            NumSteps = options.NumSteps > 0 ? options.NumSteps : _encoder is null ? WAvgStartSteps : EncoderStartSteps,
            OptimizeNoise = options.OptimizeNoise,
        };
        var work = RunAsync(g =>
        {
            try
            {
                _start ??= WStatistics.Sample(g, StartSamples, cancellation: cancellationToken);
                var result = new Projector(g, _start, _encoder).Project(image.Pixels, projection,
                    (StyleGanProjectionProgress p) => events.Writer.TryWrite(new GrpcExplain.Explain.Generation.ProjectionProgress(p.Step, p.NumSteps, p.Loss, p.Elapsed.TotalSeconds)),
                    cancellationToken);
                var ws = (result.LatentSpace == StyleGanLatentSpace.WPlus ? new Latents(result.Ws, 1, Info.WDim, Info.NumWs) : new Latents(result.Ws, 1, Info.WDim))
                    with { NoiseMaps = result.NoiseMaps };
                events.Writer.TryWrite(new Projection(ws, new ImageBatch(result.Reconstruction, 1, image.Channels, image.Height, image.Width), result.MeanSquaredError,
                    result.Start == StyleGan.Projection.ProjectionStart.Encoder));
                return true;
            }
            finally
            {
                events.Writer.TryComplete();
            }
        }, cancellationToken);
        await foreach (var e in events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false)) yield return e;
        await work.ConfigureAwait(false);
    }

    private async Task<T> RunAsync<T>(Func<StyleGanGenerator, T> work, CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => work(_generator), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }

    public void Dispose()
    {
        _encoder?.Dispose();
        _generator.Dispose();
        _generator.Backend.Dispose();
        _turn.Dispose();
    }
}
