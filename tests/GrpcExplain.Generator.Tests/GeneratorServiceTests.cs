using GrpcExplain.Kernels;
using Grpc.Core;
using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan.Tests.Generator;
using GrpcExplain.StyleGan.Weights;
using SixLabors.ImageSharp.PixelFormats;
using ProtoNoiseMode = GrpcExplain.Protos.V1.NoiseMode;

namespace GrpcExplain.Generator.Tests;

/// <summary>One grey32 service (the PyTorch fixture's generator) for the tests that only call it.</summary>
public sealed class Grey32Server : IAsyncLifetime
{
    public GeneratorServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await GeneratorServer.StartAsync(TestGenerators.Factory(TestGenerators.Grey32));

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

/// <summary>
/// Each RPC over loopback against the same generator in process: the service must add nothing and
/// lose nothing (bit-for-bit where the same calls run), and reproduce PyTorch's recorded outputs.
/// </summary>
public class GeneratorServiceTests(Grey32Server grey32) : IClassFixture<Grey32Server>
{
    private static readonly SafeTensorsFile Cases = SafeTensors.Read(TestGenerators.FixturePath("cases.safetensors"));
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private GeneratorService.GeneratorServiceClient Client => grey32.Server.Client;

    private static float[] Case(string name) => Cases.Tensors[name].Data;

    [Fact]
    public async Task GetModelInfoDescribesTheLoadedGenerator()
    {
        var info = await Client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: Ct);
        var config = TestGenerators.Grey32.Config;
        Assert.Equal((32, 0, 32, 8, 32, 1, 2, "skip"), (info.ZDim, info.CDim, info.WDim, info.NumWs, info.ImageResolutionPixels, info.ImageChannels, info.MappingLayers, info.Architecture));
        Assert.Equal(TestGenerators.Grey32.ContentHash, info.WeightsSha256);
        Assert.Equal("cpu", info.Backend);
        Assert.False(string.IsNullOrEmpty(info.Device));
        Assert.Equal(["synthesis.b4.conv1", "synthesis.b8.conv0", "synthesis.b8.conv1", "synthesis.b16.conv0", "synthesis.b16.conv1", "synthesis.b32.conv0", "synthesis.b32.conv1"], info.NoiseLayers);
        Assert.Equal(64, info.MaxBatchSize);
        Assert.Equal(config.NumWs, info.NumWs);
    }

    [Theory]
    [InlineData("z_psi1_const", null, null)]
    [InlineData("z_psi07_const", 0.7f, null)]
    [InlineData("z_psi05_cutoff4_const", 0.5f, 4)]
    public async Task MapLatentsAndSynthesizeReproducePyTorch(string @case, float? psi, int? cutoff)
    {
        var z = Case("inputs.z");
        var request = new MapLatentsRequest { Z = z.ToTensor(2, 32) };
        if (psi is { } p) request.TruncationPsi = p;
        if (cutoff is { } k) request.TruncationCutoff = k;
        var mapped = await Client.MapLatentsAsync(request, cancellationToken: Ct);
        Assert.Equal([2L, 8, 32], mapped.Ws.Shape);
        AssertClose(Case($"{@case}.ws"), mapped.Ws.Values(), 1e-3f);

        var images = await Client.SynthesizeAsync(new SynthesizeRequest { Ws = mapped.Ws, IncludeTensor = true }, cancellationToken: Ct);
        Assert.Equal([2L, 1, 32, 32], images.Images.Shape);
        AssertClose(Case($"{@case}.img"), images.Images.Values(), 1e-3f);
    }

    [Theory]
    [InlineData("w", ProtoNoiseMode.Const)]
    [InlineData("wplus", ProtoNoiseMode.Unspecified)]
    [InlineData("wplus", ProtoNoiseMode.None)]
    [InlineData("w", ProtoNoiseMode.Random)]
    public async Task SynthesizeEqualsTheGeneratorInProcessBitForBit(string space, ProtoNoiseMode mode)
    {
        var ws = Case($"inputs.{space}");
        long[] shape = space == "w" ? [2, 32] : [2, 8, 32];
        var response = await Client.SynthesizeAsync(new SynthesizeRequest { Ws = ws.ToTensor(shape), NoiseMode = mode, NoiseSeed = 5, IncludeTensor = true }, cancellationToken: Ct);

        using var generator = TestGenerators.Create(TestGenerators.Grey32);
        float[] expected = mode == ProtoNoiseMode.Random
            // Random noise is drawn per sample, from noise_seed + i.
            ? [.. generator.Synthesize(ws[..(ws.Length / 2)], 1, StyleGan.NoiseMode.Random, 5), .. generator.Synthesize(ws[(ws.Length / 2)..], 1, StyleGan.NoiseMode.Random, 6)]
            : generator.Synthesize(ws, 2, mode == ProtoNoiseMode.None ? StyleGan.NoiseMode.None : StyleGan.NoiseMode.Const);
        Assert.Equal(expected, response.Images.Values());
        generator.Backend.Dispose();
    }

    [Fact]
    public async Task SynthesizeAnswersTheSameWhateverTheSliceSize()
    {
        await using var sliced = await GeneratorServer.StartAsync(TestGenerators.Factory(TestGenerators.Grey32), o => o.ComputeBatchSize = 1);
        var ws = TinyGenerators.Normal(new Random(3), 5 * 8 * 32);
        var request = new SynthesizeRequest { Ws = ws.ToTensor(5, 8, 32), IncludeTensor = true };
        var whole = await Client.SynthesizeAsync(request, cancellationToken: Ct);
        var oneByOne = await sliced.Client.SynthesizeAsync(request, cancellationToken: Ct);
        Assert.Equal(whole.Images.Values(), oneByOne.Images.Values());
    }

    [Fact]
    public async Task PngsHoldTheTensorMappedAsGenerateDotPy()
    {
        var response = await Client.SynthesizeAsync(new SynthesizeRequest { Ws = Case("inputs.wplus").ToTensor(2, 8, 32), IncludeTensor = true, IncludePng = true }, cancellationToken: Ct);
        var values = response.Images.Values();
        Assert.Equal(2, response.PngImages.Count);
        for (int i = 0; i < 2; i++)
        {
            using var png = SixLabors.ImageSharp.Image.Load<L8>(response.PngImages[i].Span);
            Assert.Equal((32, 32), (png.Width, png.Height));
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    Assert.Equal((byte)Math.Clamp(values[i * 1024 + y * 32 + x] * 127.5f + 128f, 0f, 255f), png[x, y].PackedValue);
        }

        var pngOnly = await Client.SynthesizeAsync(new SynthesizeRequest { Ws = Case("inputs.wplus").ToTensor(2, 8, 32), IncludePng = true }, cancellationToken: Ct);
        Assert.Null(pngOnly.Images);
        Assert.Equal(response.PngImages, pngOnly.PngImages);
    }

    [Fact]
    public async Task AConditionalGeneratorMapsWithItsClassesAndGivesRgbPngs()
    {
        var weights = TinyGenerators.Weights(TinyGenerators.Rgb16Conditional);
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(weights));
        var z = TinyGenerators.Normal(new Random(4), 3 * 4);
        float[] c = [1, 0, 0, 1, 1, 0];
        var mapped = await server.Client.MapLatentsAsync(new MapLatentsRequest { Z = z.ToTensor(3, 4), C = c.ToTensor(3, 2), TruncationPsi = 0.6f, TruncationCutoff = 2 }, cancellationToken: Ct);
        var images = await server.Client.SynthesizeAsync(new SynthesizeRequest { Ws = mapped.Ws, IncludeTensor = true, IncludePng = true }, cancellationToken: Ct);

        using var generator = TestGenerators.Create(weights);
        var ws = generator.Map(z, 3, c, 0.6f, 2);
        Assert.Equal(ws, mapped.Ws.Values());
        Assert.Equal(generator.Synthesize(ws, 3), images.Images.Values());
        generator.Backend.Dispose();
        using var png = SixLabors.ImageSharp.Image.Load<Rgb24>(images.PngImages[2].Span);
        Assert.Equal((16, 16), (png.Width, png.Height));
    }

    [Fact]
    public async Task LatentGradientEqualsTheGeneratorInProcess()
    {
        var ws = Case("inputs.wplus");
        var r = Case("inputs.r");
        var response = await Client.LatentGradientAsync(new LatentGradientRequest
        {
            Ws = ws.ToTensor(2, 8, 32), ImageGradient = r.ToTensor(2, 1, 32, 32), IncludeNoiseGradients = true,
        }, cancellationToken: Ct);

        using var generator = TestGenerators.Create(TestGenerators.Grey32);
        using (var pass = generator.Forward(ws, 2))
        {
            var expected = pass.Backward(r, noise: true);
            Assert.Equal([2L, 8, 32], response.WsGradient.Shape);
            Assert.Equal(expected.Ws, response.WsGradient.Values());
            Assert.Equal(expected.Noise!.Keys.Order(), response.NoiseGradients.Keys.Order());
            foreach (var (layer, values) in expected.Noise)
            {
                int res = (int)Math.Sqrt(values.Length);
                Assert.Equal([1L, 1, res, res], response.NoiseGradients[layer].Shape);
                Assert.Equal(values, response.NoiseGradients[layer].Values());
            }
        }
        generator.Backend.Dispose();
        // PyTorch's float64 gradient of the same case, to float32 accuracy.
        AssertClose(Case("grad_wplus_const.d_ws"), response.WsGradient.Values(), 2e-3f, relative: true);
    }

    [Fact]
    public async Task LatentGradientOfOneWSumsItsLayersAndRandomNoiseGradientsArePerSample()
    {
        var w = Case("inputs.w");
        var r = Case("inputs.r");
        var response = await Client.LatentGradientAsync(new LatentGradientRequest
        {
            Ws = w.ToTensor(2, 32), ImageGradient = r.ToTensor(2, 1, 32, 32), NoiseMode = ProtoNoiseMode.Random, NoiseSeed = 9, IncludeNoiseGradients = true,
        }, cancellationToken: Ct);
        Assert.Equal([2L, 32], response.WsGradient.Shape);
        Assert.Equal([2L, 1, 32, 32], response.NoiseGradients["synthesis.b32.conv1"].Shape);

        using var generator = TestGenerators.Create(TestGenerators.Grey32);
        using (var pass = generator.Forward(w[32..], 1, StyleGan.NoiseMode.Random, 10))
        {
            var second = pass.Backward(r[1024..], noise: true);
            Assert.Equal(second.Ws, response.WsGradient.Values()[32..]);
            Assert.Equal(second.Noise!["synthesis.b32.conv1"], response.NoiseGradients["synthesis.b32.conv1"].Values()[1024..]);
        }
        generator.Backend.Dispose();
    }

    [Fact]
    public async Task LogsSayWhatWasAskedButNoValues()
    {
        var ws = Case("inputs.wplus");
        await Client.SynthesizeAsync(new SynthesizeRequest { Ws = ws.ToTensor(2, 8, 32), IncludeTensor = true }, cancellationToken: Ct);
        Assert.Contains(grey32.Server.Log, l => l.Contains("Synthesize: W+ [2, 8, 32], noise Const", StringComparison.Ordinal));
        string[] values = [.. ws.Take(16).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))];
        Assert.DoesNotContain(grey32.Server.Log, l => values.Any(v => l.Contains(v, StringComparison.Ordinal)));
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance, bool relative = false)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = relative ? Math.Max(1e-6f, expected.Max(MathF.Abs)) : 1f;
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tolerance * scale, $"element {i}: expected {expected[i]}, got {actual[i]} (tolerance {tolerance * scale}).");
    }
}
