using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using GrpcExplain.Classifier;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Generator;
using GrpcExplain.Kernels;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan.Weights;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrpcExplain.Coordinator.Tests;

/// <summary>
/// The three services as a deployment runs them, each a host on its own loopback port: the generator
/// (the grey32 fixture, 1x32x32 images, w_dim 32), the classifier service hosting one ONNX model built
/// to depend on a known latent direction (<see cref="DirectionModel"/>), and the coordinator with its
/// direction database in a temporary folder; with whiteBox, also <see cref="WhiteBoxModel"/>, a tiny reference CNN
/// (random weights) as ReferenceCnnExport writes it. Each host can be stopped on its own (a restart, a crash),
/// and <see cref="CallGate"/>s on the generator and the classifier let a test hold a call mid-stream.
/// </summary>
public sealed class Deployment : IAsyncDisposable
{
    public const string Model = "latent_direction", WhiteBoxModel = "reference_cnn";
    private readonly bool _fakeEncoder;

    private Deployment(string folder, bool fakeEncoder) => (Folder, _fakeEncoder) = (folder, fakeEncoder);

    public string Folder { get; }
    public string Repository => Path.Combine(Folder, "models");
    public string DatabasePath => Path.Combine(Folder, "directions.db");
    public LoopbackHost Generator { get; private set; } = null!;
    public LoopbackHost Classifier { get; private set; } = null!;
    public LoopbackHost Coordinator { get; private set; } = null!;
    public CallGate GeneratorGate { get; } = new("Synthesize");
    public CallGate ClassifierGate { get; } = new("ModelInfer");
    public DirectionModel Direction { get; private set; } = null!;
    public ExplainerService.ExplainerServiceClient Client => new(Coordinator.Channel);

    /// <summary>The white-box model's network (1x32x32, classes "away" and "towards"), when the deployment has it.</summary>
    public ReferenceCnnWeights? WhiteBox { get; private set; }

    /// <param name="fakeEncoder">Project to the known latent of the input (<see cref="KnownLatentEncoder"/>) instead of the generator's Project RPC.</param>
    /// <param name="whiteBox">Also serve <see cref="WhiteBoxModel"/>.</param>
    public static async Task<Deployment> StartAsync(bool fakeEncoder = true, bool whiteBox = false)
    {
        var deployment = new Deployment(Directory.CreateTempSubdirectory("grpcexplain-coordinator-").FullName, fakeEncoder);
        try
        {
            await deployment.StartGeneratorAsync();
            deployment.Direction = await DirectionModel.BuildAsync(new GeneratorService.GeneratorServiceClient(deployment.Generator.Channel), deployment.Repository);
            if (whiteBox)
            {
                deployment.WhiteBox = ReferenceCnnWeights.Initialize(new ReferenceCnnConfig(DirectionModel.Resolution, 1, [4, 8], ["away", "towards"]), seed: 21);
                ReferenceCnnExport.Write(deployment.WhiteBox, deployment.Repository, WhiteBoxModel, GrpcExplain.Classifiers.ImageFit.Resize);
            }
            await deployment.StartClassifierAsync();
            await deployment.StartCoordinatorAsync();
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    private static readonly Lazy<GeneratorWeights> Grey32 = new(() => GeneratorWeights.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "grey32", "generator.safetensors")));

    private async Task StartGeneratorAsync()
    {
        Generator = await LoopbackHost.StartAsync(services =>
        {
            services.AddSingleton(GeneratorGate);
            services.AddGrpc(o => o.Interceptors.Add<CallGate>());
            services.AddGeneratorService(o =>
            {
                o.GeneratorFactory = () => new StyleGan.Generator(Backends.Create(BackendKind.Cpu), Grey32.Value);
                o.ComputeBatchSize = 64;
                o.MaxBatchSize = 256;
            });
        }, app => app.MapGeneratorService());
        await Generator.App.Services.GetRequiredService<GeneratorModel>().Loading;
    }

    private async Task StartClassifierAsync()
    {
        Classifier = await LoopbackHost.StartAsync(services =>
        {
            services.AddSingleton(ClassifierGate);
            services.AddGrpc(o => o.Interceptors.Add<CallGate>());
            services.AddClassifierService(o =>
            {
                o.ModelRepository = Repository;
                o.ExecutionProvider = ExecutionProvider.Cpu;
                o.IntraOpThreads = 1;
            });
        }, app => app.MapClassifierService());
        var client = new Inference.GRPCInferenceService.GRPCInferenceServiceClient(Classifier.Channel);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(await client.ServerReadyAsync(new Inference.ServerReadyRequest())).Ready)
        {
            Assert.True(DateTime.UtcNow < deadline, "The classifier service did not become ready in 20 s.");
            await Task.Delay(10);
        }
    }

    /// <summary>Starts (or starts again, on the same database) the coordinator.</summary>
    public async Task StartCoordinatorAsync()
    {
        Coordinator = await LoopbackHost.StartAsync(services =>
        {
            if (_fakeEncoder) services.AddSingleton<ILatentEncoder>(new KnownLatentEncoder(Direction));
            services.AddCoordinatorService(o =>
            {
                o.GeneratorAddress = Generator.Address.ToString();
                o.ClassifierAddress = Classifier.Address.ToString();
                o.ClassifierConfigRepository = Repository;
                o.DirectionDatabasePath = DatabasePath;
                o.DefaultProbeSamples = 256;
                o.DependencyCallTimeout = TimeSpan.FromSeconds(30);
            });
        }, app => app.MapCoordinatorService());
    }

    /// <summary>Stops a host at once: open connections are dropped, calls in flight fail, as when its process dies.</summary>
    public static Task KillAsync(LoopbackHost host) => host.App.StopAsync(new CancellationToken(canceled: true));

    public async ValueTask DisposeAsync()
    {
        GeneratorGate.Release();
        ClassifierGate.Release();
        foreach (var host in new[] { Coordinator, Classifier, Generator })
            if (host is not null) await host.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>An ASP.NET Core host on a loopback Kestrel port (HTTP/2 only, as Program sets it), with a channel to it.</summary>
public sealed class LoopbackHost : IAsyncDisposable
{
    private LoopbackHost(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
    }

    public WebApplication App { get; }
    public Uri Address { get; }
    public GrpcChannel Channel { get; }

    public static async Task<LoopbackHost> StartAsync(Action<IServiceCollection> services, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
        services(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new LoopbackHost(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        try
        {
            await App.StopAsync(new CancellationToken(canceled: true));
        }
        catch (OperationCanceledException)
        {
        }
        await App.DisposeAsync();
    }
}

/// <summary>
/// Counts a host's calls of one method and, when armed, runs a hook before the Nth: a test holds a
/// call there (to cancel, or to kill a service, at a known point of a stream) and then lets it go on.
/// </summary>
public sealed class CallGate(string method) : Interceptor
{
    private int _calls;
    private (int Call, Func<ServerCallContext, Task> Hook)? _armed;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Runs <paramref name="hook"/> before the <paramref name="call"/>-th call from now.</summary>
    public void Arm(int call, Func<ServerCallContext, Task> hook)
    {
        Interlocked.Exchange(ref _calls, 0);
        _armed = (call, hook);
    }

    /// <summary>Lets every held call go on.</summary>
    public void Release() => _released.TrySetResult();

    /// <summary>A hook that holds the call until <see cref="Release"/> or its cancellation, telling <paramref name="held"/> when it is held and when cancelled.</summary>
    public Func<ServerCallContext, Task> Hold(HeldCall held) => async context =>
    {
        held.Started.TrySetResult();
        try
        {
            await _released.Task.WaitAsync(context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            held.Cancelled.TrySetResult();
            throw;
        }
    };

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (context.Method.EndsWith("/" + method, StringComparison.Ordinal))
        {
            int n = Interlocked.Increment(ref _calls);
            if (_armed is { } armed && armed.Call == n) await armed.Hook(context);
        }
        return await continuation(request, context);
    }
}

/// <summary>A call a <see cref="CallGate"/> holds: when it was held, and when the caller cancelled it.</summary>
public sealed class HeldCall
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// A classifier built to depend on a known latent direction d: a linear layer over the pixels whose
/// weight is the image difference G(w̄ + s d) − G(w̄ − s d), scaled and centred on the generator's own
/// samples so that the two classes ("away", "towards") split them about evenly. s is the spread of the
/// samples along d, the W distance a walk of alpha = s covers. <see cref="Input"/> is an image of a
/// latent on the "away" side, w̄ − s d.
/// </summary>
public sealed record DirectionModel(float[] D, float Spread, float[] InputLatent, float[] InputImage, byte[] InputPng)
{
    public const int WDim = 32, Resolution = 32;

    private static readonly SemaphoreSlim Once = new(1, 1);
    private static (DirectionModel Model, byte[] Onnx)? _built;

    public static async Task<DirectionModel> BuildAsync(GeneratorService.GeneratorServiceClient generator, string repository)
    {
        await Once.WaitAsync();
        try
        {
            _built ??= await ComputeAsync(generator);
        }
        finally
        {
            Once.Release();
        }
        var folder = Directory.CreateDirectory(Path.Combine(repository, Deployment.Model, "1")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(folder, "model.onnx"), _built.Value.Onnx);
        await File.WriteAllTextAsync(Path.Combine(repository, Deployment.Model, ClassifierConfig.FileName), """
            { "input": { "name": "image", "datatype": "FP32", "layout": "NCHW", "channels": 1, "height": 32, "width": 32 },
              "output": { "name": "logit", "activation": "sigmoid" },
              "class_labels": [ "away", "towards" ],
              "max_batch_size": 64 }
            """);
        return _built.Value.Model;
    }

    private static async Task<(DirectionModel, byte[])> ComputeAsync(GeneratorService.GeneratorServiceClient generator)
    {
        const int samples = 256;
        var rng = new Random(17);
        float Gaussian() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        var z = Enumerable.Range(0, samples * WDim).Select(_ => Gaussian()).ToArray();
        var mapped = await generator.MapLatentsAsync(new MapLatentsRequest { Z = Tensors.Proto(z, samples, WDim) });
        var all = Tensors.Floats(mapped.Ws);
        int numWs = (int)mapped.Ws.Shape[1];
        var ws = new float[samples * WDim];
        for (int n = 0; n < samples; n++) all.AsSpan(n * numWs * WDim, WDim).CopyTo(ws.AsSpan(n * WDim));
        var mean = Enumerable.Range(0, WDim).Select(j => Enumerable.Range(0, samples).Average(n => ws[n * WDim + j])).ToArray();
        var d = Enumerable.Range(0, WDim).Select(_ => Gaussian()).ToArray();
        float norm = MathF.Sqrt(d.Sum(v => v * v));
        d = [.. d.Select(v => v / norm)];
        var along = Enumerable.Range(0, samples).Select(n => Enumerable.Range(0, WDim).Sum(j => (ws[n * WDim + j] - mean[j]) * (double)d[j])).ToArray();
        float spread = (float)Math.Sqrt(along.Average(a => a * a));

        float[] At(float alpha) => [.. mean.Select((m, j) => (float)(m + alpha * spread * d[j]))];
        var plus = await Synthesize(generator, At(1), 1);
        var minus = await Synthesize(generator, At(-1), 1);
        var v = plus.Zip(minus, (a, b) => a - b).ToArray();
        var images = new List<float>();
        for (int start = 0; start < samples; start += 64) images.AddRange(await Synthesize(generator, ws[(start * WDim)..((start + 64) * WDim)], 64));
        int length = Resolution * Resolution;
        var scores = Enumerable.Range(0, samples).Select(n => Enumerable.Range(0, length).Sum(i => (double)v[i] * images[n * length + i])).Order().ToArray();
        double median = scores[samples / 2], sd = Math.Sqrt(scores.Average(s => (s - scores.Average()) * (s - scores.Average())));
        double k = 2.5 / sd;
        // logit = k (v·x − median), with x = 2 x01 − 1 as the model reads x01 = (x + 1) / 2.
        var weight = v.Select(w => (float)(2 * k * w)).ToArray();
        float bias = (float)(-k * (v.Sum(w => (double)w) + median));

        var input = At(-1);
        var synth = await generator.SynthesizeAsync(new SynthesizeRequest { Ws = Tensors.Proto(input, 1, WDim), IncludeTensor = true, IncludePng = true });
        var model = new DirectionModel(d, spread, input, Tensors.Floats(synth.Images), synth.PngImages[0].ToByteArray());
        return (model, OnnxLinearModel.Write(weight, bias, 1, Resolution));
    }

    private static async Task<float[]> Synthesize(GeneratorService.GeneratorServiceClient generator, float[] ws, int count) =>
        Tensors.Floats((await generator.SynthesizeAsync(new SynthesizeRequest { Ws = Tensors.Proto(ws, count, WDim), IncludeTensor = true })).Images);
}

/// <summary>Projection by knowing the answer: the input's latent, as the test made the input from it (a perfect encoder: the result says it started from one).</summary>
internal sealed class KnownLatentEncoder(DirectionModel model) : ILatentEncoder
{
    public async IAsyncEnumerable<ProjectionEvent> ProjectAsync(ImageBatch image, ProjectionOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        yield return new ProjectionProgress(1, 1, 0f, 0);
        var reconstruction = new ImageBatch(model.InputImage, 1, 1, DirectionModel.Resolution, DirectionModel.Resolution);
        yield return new Projection(new Latents(model.InputLatent, 1, DirectionModel.WDim), reconstruction, (float)Explain.ImageDistance.MeanSquared(image.Pixels, model.InputImage), FromEncoder: true);
    }
}

internal static class Tensors
{
    public static Protos.V1.Tensor Proto(float[] values, params int[] shape)
    {
        var tensor = new Protos.V1.Tensor { Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        foreach (int d in shape) tensor.Shape.Add(d);
        return tensor;
    }

    public static float[] Floats(Protos.V1.Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();
}
