using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace GrpcExplain.Generator;

/// <summary>
/// The one generator a service instance serves. It loads in the background when the host starts, so
/// that the host answers health checks (NOT_SERVING) while weights are read and uploaded; calls
/// before then are answered UNAVAILABLE. <see cref="StyleGan.Generator"/> is not thread-safe:
/// <see cref="RunAsync{T}"/> lets one call at a time use it, and a call waiting its turn gives up
/// when it is cancelled.
/// </summary>
public sealed partial class GeneratorModel(IOptions<GeneratorServiceOptions> options, ILogger<GeneratorModel> log) : IHostedService, IDisposable
{
    private readonly GeneratorServiceOptions _options = options.Value;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private StyleGan.Generator? _generator;
    private string? _failure;
    private bool _disposed;
    private long _samplesComputed;
    private StyleGan.Projection.WStatistics? _projectionStart;
    private StyleGan.Encoding.Encoder? _encoder;

    /// <summary>The generator, once loaded; null while loading or after a failed load.</summary>
    public StyleGan.Generator? Generator => Volatile.Read(ref _generator);

    /// <summary>The generator's encoder, when one that belongs to it was found; projections start from it.</summary>
    public StyleGan.Encoding.Encoder? Encoder => Volatile.Read(ref _encoder);

    /// <summary>Why loading failed (the exception's message), or null.</summary>
    public string? LoadFailure => Volatile.Read(ref _failure);

    /// <summary>Completes when loading has ended, loaded or failed.</summary>
    public Task Loading => _loaded.Task;

    /// <summary>Samples mapped, synthesised or differentiated so far (slices that ran to the end).</summary>
    public long SamplesComputed => Interlocked.Read(ref _samplesComputed);

    Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(Load, CancellationToken.None);
        return Task.CompletedTask;
    }

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Runs <paramref name="work"/> with the generator when no other call is using it. The work gets a
    /// <see cref="Slices"/> runner that checks <paramref name="cancellation"/> between slices.
    /// </summary>
    public async Task<T> RunAsync<T>(string rpc, Func<StyleGan.Generator, Slices, T> work, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(work);
        var generator = Require();
        try
        {
            await _gate.WaitAsync(cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            throw Cancelled($"{rpc} was cancelled (or its deadline passed) while it waited for the generator.");
        }
        var slices = new Slices(this, rpc, cancellation);
        try
        {
            return work(generator, slices);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            LogStopped(log, rpc, slices.Done, slices.Total, slices.Unit);
            throw Cancelled($"{rpc} was cancelled (or its deadline passed) after {slices.Done} of {slices.Total} {slices.Unit}.");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Where projections start: the mean (and spread) of <see cref="GeneratorServiceOptions.ProjectionWAvgSamples"/>
    /// mapped samples, computed by the first projection and kept. Call it from work that
    /// <see cref="RunAsync{T}"/> runs, which holds the generator.
    /// </summary>
    public StyleGan.Projection.WStatistics ProjectionStart(StyleGan.Generator generator, CancellationToken cancellation) =>
        _projectionStart ??= StyleGan.Projection.WStatistics.Sample(generator, _options.ProjectionWAvgSamples, cancellation: cancellation);

    /// <summary>
    /// What a call that stopped early answers, saying where it stopped (a client that has gone sees
    /// nothing; one whose deadline passed has seen DEADLINE_EXCEEDED already).
    /// </summary>
    public static RpcException Cancelled(string message) => new(new Status(StatusCode.Cancelled, message));

    /// <summary>The generator, or UNAVAILABLE while it loads, FAILED_PRECONDITION when it could not be loaded.</summary>
    public StyleGan.Generator Require() =>
        Generator ?? throw (LoadFailure is { } failure
            ? new RpcException(new Status(StatusCode.FailedPrecondition, $"The generator could not be loaded: {failure}"))
            : new RpcException(new Status(StatusCode.Unavailable, "The generator is still loading; try again shortly (grpc.health.v1 reports SERVING once it is ready).")));

    private void Load()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var generator = _options.CreateGenerator();
            lock (_lock)
            {
                if (_disposed)
                {
                    DisposeGenerator(generator);
                    return;
                }
                Volatile.Write(ref _generator, generator);
            }
            if (_options.EncoderFile() is { } encoderPath)
            {
                var encoder = StyleGan.Encoding.Encoder.TryLoad(encoderPath, generator, out var refusal);
                if (refusal is not null) LogEncoderRefused(log, refusal);
                else if (encoder is not null) LogEncoderLoaded(log, encoderPath);
                Volatile.Write(ref _encoder, encoder);
            }
            var config = generator.Config;
            LogLoaded(log, generator.Weights.ContentHash[..16], config.ImgResolution, config.ImgChannels, config.ZDim, config.CDim, config.WDim, config.NumWs,
                generator.Backend.Name, generator.Backend.Device, clock.ElapsedMilliseconds);
        }
#pragma warning disable CA1031 // any failure to load leaves the service NOT_SERVING with the reason, rather than ending the host
        catch (Exception e)
#pragma warning restore CA1031
        {
            Volatile.Write(ref _failure, e.Message);
            LogLoadFailed(log, e, _options.WeightsPath ?? "(factory)", e.Message);
        }
        finally
        {
            _loaded.TrySetResult();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _encoder?.Dispose();
            _encoder = null;
            if (_generator is { } g) DisposeGenerator(g);
            _generator = null;
        }
        _gate.Dispose();
    }

    private static void DisposeGenerator(StyleGan.Generator generator)
    {
        generator.Dispose();
        generator.Backend.Dispose();
    }

    /// <summary>
    /// A request's batch in slices of <see cref="GeneratorServiceOptions.ComputeBatchSize"/>: cancellation
    /// is checked before each slice, and completed samples are counted.
    /// </summary>
    public sealed class Slices
    {
        private readonly GeneratorModel _model;
        private readonly CancellationToken _cancellation;

        internal Slices(GeneratorModel model, string rpc, CancellationToken cancellation) => (_model, Rpc, _cancellation) = (model, rpc, cancellation);

        public string Rpc { get; }
        public int Done { get; private set; }
        public int Total { get; private set; }

        /// <summary>What <see cref="Done"/> counts: samples, or steps after <see cref="BeginSteps"/>.</summary>
        public string Unit { get; private set; } = "samples";

        /// <summary>Calls <paramref name="slice"/>(start, count) over [0, total) in slices of at most <paramref name="size"/> samples.</summary>
        public void Run(int total, int size, Action<int, int> slice)
        {
            ArgumentNullException.ThrowIfNull(slice);
            Total = total;
            for (int start = 0; start < total; start += size)
            {
                _cancellation.ThrowIfCancellationRequested();
                int count = Math.Min(size, total - start);
                slice(start, count);
                Done = start + count;
                Interlocked.Add(ref _model._samplesComputed, count);
            }
        }

        /// <summary>Work that runs one sample at a time in <paramref name="total"/> steps (projection), counted by <see cref="Step"/>.</summary>
        public void BeginSteps(int total) => (Unit, Total, Done) = ("steps", total, 0);

        /// <summary>Counts one step: one sample synthesised and differentiated.</summary>
        public void Step()
        {
            Done++;
            Interlocked.Increment(ref _model._samplesComputed);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Generator {Hash} loaded: {Resolution}x{Resolution}, {Channels} channels, z_dim {ZDim}, c_dim {CDim}, w_dim {WDim}, num_ws {NumWs}, backend {Backend} on {Device}, in {ElapsedMs} ms")]
    private static partial void LogLoaded(ILogger logger, string hash, int resolution, int channels, int zDim, int cDim, int wDim, int numWs, string backend, string device, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Encoder {Path} loaded: projections start from its w")]
    private static partial void LogEncoderLoaded(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The encoder is not used: {Reason}")]
    private static partial void LogEncoderRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The generator could not be loaded from {WeightsPath}: {Reason}; the service stays NOT_SERVING")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string weightsPath, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Rpc} stopped after {Done} of {Total} {Unit}: the call was cancelled or its deadline passed")]
    private static partial void LogStopped(ILogger logger, string rpc, int done, int total, string unit);
}
