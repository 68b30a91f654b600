using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan.Tests.Generator;
using ProtoNoiseMode = GrpcExplain.Protos.V1.NoiseMode;

namespace GrpcExplain.Generator.Tests;

/// <summary>Two small services for the error table: an unconditional grey one and a conditional RGB one, with a batch limit of 4.</summary>
public sealed class ErrorServers : IAsyncLifetime
{
    public GeneratorServer Grey { get; private set; } = null!;
    public GeneratorServer Conditional { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Grey = await GeneratorServer.StartAsync(TestGenerators.Factory(TinyGenerators.Weights(TinyGenerators.Grey8)), o => o.MaxBatchSize = 4);
        Conditional = await GeneratorServer.StartAsync(TestGenerators.Factory(TinyGenerators.Weights(TinyGenerators.Rgb16Conditional)), o => o.MaxBatchSize = 4);
    }

    public async ValueTask DisposeAsync()
    {
        await Grey.DisposeAsync();
        await Conditional.DisposeAsync();
    }
}

/// <summary>
/// Every kind of bad input, each answered INVALID_ARGUMENT with a message that names what is wrong
/// and a google.rpc.BadRequest field violation; and the service still serves afterwards. Grey8:
/// z_dim 6, w_dim 5, num_ws 4, images [1, 8, 8]. Rgb16Conditional: z_dim 4, c_dim 2, w_dim 6,
/// num_ws 6, images [3, 16, 16].
/// </summary>
public class RequestErrorTests(ErrorServers servers) : IClassFixture<ErrorServers>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Tensor T(long[] shape, float fill = 0.1f) => Enumerable.Repeat(fill, (int)shape.Aggregate(1L, (a, d) => a * d)).ToArray().ToTensor(shape);

    private static Tensor With(Tensor t, int index, float value)
    {
        var values = t.Values();
        values[index] = value;
        return values.ToTensor([.. t.Shape]);
    }

    public sealed record Case(string Rpc, IMessage Request, string Field, string Message, bool Conditional = false)
    {
        public override string ToString() => $"{Rpc}: {Field}: {Message}";
    }

    private static readonly Tensor GoodWs = T([2, 4, 5]);

    /// <summary>The table: RPC, request, the field the violation names, and words the message must hold.</summary>
    public static TheoryData<string> Cases => [.. Table.Keys];

    private static readonly Dictionary<string, Case> Table = new Case[]
    {
        new("Synthesize", new SynthesizeRequest { IncludeTensor = true }, "ws", "is missing"),
        new("Synthesize", new SynthesizeRequest { Ws = T([0, 5]), IncludeTensor = true }, "ws.shape", "[0, 5] is an empty batch"),
        new("Synthesize", new SynthesizeRequest { Ws = T([5, 5]), IncludeTensor = true }, "ws.shape", "holds 5 samples, more than the 4 a request may carry"),
        new("Synthesize", new SynthesizeRequest { Ws = T([2, 6]), IncludeTensor = true }, "ws.shape", "[2, 6] does not fit this generator: expected [N, w_dim] = [N, 5] (w) or [N, num_ws, w_dim] = [N, 4, 5] (W+)"),
        new("Synthesize", new SynthesizeRequest { Ws = T([2, 3, 5]), IncludeTensor = true }, "ws.shape", "[2, 3, 5] does not fit this generator"),
        new("Synthesize", new SynthesizeRequest { Ws = T([3]), IncludeTensor = true }, "ws.shape", "[3] does not fit this generator"),
        new("Synthesize", new SynthesizeRequest { Ws = new Tensor { Data = ByteString.CopyFrom(new byte[20]) }, IncludeTensor = true }, "ws.shape", "[] does not fit this generator: expected a batch"),
        new("Synthesize", new SynthesizeRequest { Ws = new Tensor { Shape = { 2, -5 }, Data = ByteString.Empty }, IncludeTensor = true }, "ws.shape", "[2, -5] has a negative dimension"),
        new("Synthesize", new SynthesizeRequest { Ws = new Tensor { Shape = { 2, 5 }, Data = ByteString.CopyFrom(new byte[36]) }, IncludeTensor = true }, "ws.data", "holds 36 bytes; shape [2, 5] needs 40"),
        new("Synthesize", new SynthesizeRequest { Ws = new Tensor { Shape = { 2, 5 }, Data = ByteString.CopyFrom(new byte[41]) }, IncludeTensor = true }, "ws.data", "holds 41 bytes"),
        new("Synthesize", new SynthesizeRequest { Ws = With(GoodWs, 27, float.NaN), IncludeTensor = true }, "ws.data", "non-finite value (NaN) at element 27 (sample 1)"),
        new("Synthesize", new SynthesizeRequest { Ws = With(GoodWs, 3, float.PositiveInfinity), IncludeTensor = true }, "ws.data", "non-finite value (Infinity) at element 3 (sample 0)"),
        new("Synthesize", new SynthesizeRequest { Ws = GoodWs, IncludeTensor = true, NoiseMode = (ProtoNoiseMode)7 }, "noise_mode", "7 is not a NoiseMode"),
        new("Synthesize", new SynthesizeRequest { Ws = GoodWs }, "include_tensor", "neither include_tensor nor include_png is set"),
        new("MapLatents", new MapLatentsRequest(), "z", "is missing"),
        new("MapLatents", new MapLatentsRequest { Z = T([2, 5]) }, "z.shape", "[2, 5] does not fit this generator: expected [N, z_dim] = [N, 6]"),
        new("MapLatents", new MapLatentsRequest { Z = T([2, 6]), C = T([2, 2]) }, "c", "this generator is unconditional (c_dim 0): leave c unset"),
        new("MapLatents", new MapLatentsRequest { Z = T([2, 6]), TruncationPsi = float.NaN }, "truncation_psi", "must be finite, got NaN"),
        new("MapLatents", new MapLatentsRequest { Z = T([2, 6]), TruncationCutoff = 5 }, "truncation_cutoff", "must be from 0 to num_ws (4), got 5"),
        new("MapLatents", new MapLatentsRequest { Z = T([2, 6]), TruncationCutoff = -1 }, "truncation_cutoff", "got -1"),
        new("MapLatents", new MapLatentsRequest { Z = T([2, 4]) }, "c", "this generator is conditional (c_dim 2): give c as [N, 2]", Conditional: true),
        new("MapLatents", new MapLatentsRequest { Z = T([2, 4]), C = T([3, 2]) }, "c.shape", "[3, 2] does not fit this generator: expected [N, c_dim] = [2, 2], one row per z", Conditional: true),
        new("MapLatents", new MapLatentsRequest { Z = T([2, 4]), C = With(T([2, 2]), 1, float.NegativeInfinity) }, "c.data", "non-finite value (-Infinity) at element 1", Conditional: true),
        new("LatentGradient", new LatentGradientRequest { Ws = GoodWs }, "image_gradient", "is missing"),
        new("LatentGradient", new LatentGradientRequest { Ws = GoodWs, ImageGradient = T([2, 3, 8, 8]) }, "image_gradient.shape", "[2, 3, 8, 8] does not fit this generator: expected [N, image_channels, res, res] = [2, 1, 8, 8]"),
        new("LatentGradient", new LatentGradientRequest { Ws = GoodWs, ImageGradient = T([3, 1, 8, 8]) }, "image_gradient.shape", "one image per latent"),
        new("LatentGradient", new LatentGradientRequest { Ws = GoodWs, ImageGradient = With(T([2, 1, 8, 8]), 100, float.NaN) }, "image_gradient.data", "non-finite value (NaN) at element 100 (sample 1)"),
        new("LatentGradient", new LatentGradientRequest { Ws = GoodWs, ImageGradient = T([2, 1, 8, 8]), NoiseMode = ProtoNoiseMode.None, IncludeNoiseGradients = true }, "include_noise_gradients", "NOISE_MODE_NONE adds no noise"),
        new("LatentGradient", new LatentGradientRequest { Ws = T([2, 7]), ImageGradient = T([2, 1, 8, 8]) }, "ws.shape", "[2, 7] does not fit this generator"),
    }.ToDictionary(c => c.ToString());

    [Theory, MemberData(nameof(Cases))]
    public async Task BadInputIsInvalidArgumentWithFieldViolations(string name)
    {
        var @case = Table[name];
        var server = @case.Conditional ? servers.Conditional : servers.Grey;
        var e = await Assert.ThrowsAsync<RpcException>(() => Call(server.Client, @case.Request));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(@case.Message, e.Status.Detail, StringComparison.Ordinal);
        var status = e.GetRpcStatus();
        Assert.NotNull(status);
        var badRequest = status.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Contains(badRequest.FieldViolations, v => v.Field == @case.Field && v.Description.Contains(@case.Message, StringComparison.Ordinal));

        // Nothing broke: the same service still answers a good request.
        var ok = await server.Client.SynthesizeAsync(new SynthesizeRequest { Ws = T([1, server == servers.Grey ? 5 : 6]), IncludeTensor = true }, cancellationToken: Ct);
        Assert.Equal(1L, ok.Images.Shape[0]);
    }

    [Fact]
    public async Task EveryViolationOfOneRequestIsReported()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => servers.Grey.Client.MapLatentsAsync(
            new MapLatentsRequest { Z = T([2, 5]), C = T([2, 1]), TruncationPsi = float.PositiveInfinity, TruncationCutoff = 9 }, cancellationToken: Ct).ResponseAsync);
        var fields = e.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field);
        Assert.Equal(["z.shape", "c", "truncation_psi", "truncation_cutoff"], fields);
        Assert.StartsWith("MapLatentsRequest is invalid: z.shape: [2, 5] does not fit", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PngsOfAnImageWithTwoChannelsAreRefused()
    {
        var config = TinyGenerators.Grey8 with { ImgChannels = 2 };
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(TinyGenerators.Weights(config)));
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Client.SynthesizeAsync(new SynthesizeRequest { Ws = GoodWs, IncludePng = true }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("include_png: this generator's images have 2 channels and PNGs hold 1, 3 or 4", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AResponseOverTheMessageLimitIsRefusedBeforeAnyWork()
    {
        // 128x128 grey images are 64 KiB as float32: 17 of them pass 1 MiB.
        var config = TinyGenerators.Grey8 with { ImgResolution = 128, ChannelBase = 256 };
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(TinyGenerators.Weights(config)), o => o.MaxMessageSizeBytes = 1 << 20);
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Client.SynthesizeAsync(
            new SynthesizeRequest { Ws = T([17, 5]), IncludeTensor = true }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("17 images make a response of up to 1.1 MB, more than the 1.0 MB a message may hold: send at most 16 samples per request", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, server.Model.SamplesComputed);
    }

    [Fact]
    public async Task ARequestOverTheMessageLimitIsResourceExhausted()
    {
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(TinyGenerators.Weights(TinyGenerators.Grey8)), o => o.MaxMessageSizeBytes = 1 << 20);
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Client.SynthesizeAsync(
            new SynthesizeRequest { Ws = new Tensor { Shape = { 1, 5 }, Data = ByteString.CopyFrom(new byte[(1 << 20) + 1]) }, IncludeTensor = true }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    private static async Task Call(GeneratorService.GeneratorServiceClient client, IMessage request)
    {
        switch (request)
        {
            case SynthesizeRequest r: await client.SynthesizeAsync(r, cancellationToken: Ct); break;
            case MapLatentsRequest r: await client.MapLatentsAsync(r, cancellationToken: Ct); break;
            case LatentGradientRequest r: await client.LatentGradientAsync(r, cancellationToken: Ct); break;
            default: throw new ArgumentException(request.GetType().Name);
        }
    }
}
