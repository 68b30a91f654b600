using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using GrpcExplain.Protos.V1;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using ProtoImage = GrpcExplain.Protos.V1.Image;
using ProtoLatentSpace = GrpcExplain.Protos.V1.LatentSpace;

namespace GrpcExplain.Generator.Tests;

/// <summary>
/// Project's bad input, each answered INVALID_ARGUMENT before any step with a message that names what
/// is wrong and a google.rpc.BadRequest field violation, on the error table's two services (Grey8:
/// [1, 8, 8] images; Rgb16Conditional: [3, 16, 16]). No image is resized or converted.
/// </summary>
public class ProjectRequestErrorTests(ErrorServers servers) : IClassFixture<ErrorServers>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] File<TPixel>(int size, bool jpeg = false) where TPixel : unmanaged, IPixel<TPixel>
    {
        using var image = new Image<TPixel>(size, size);
        using var stream = new MemoryStream();
        if (jpeg) image.Save(stream, new JpegEncoder { ColorType = typeof(TPixel) == typeof(L8) ? JpegColorType.Luminance : JpegColorType.YCbCrRatio420 });
        else image.Save(stream, new PngEncoder());
        return stream.ToArray();
    }

    private static ProtoImage Encoded(byte[] data, ImageFormat format = ImageFormat.Png) => new() { Encoded = new EncodedImage { Format = format, Data = ByteString.CopyFrom(data) } };

    private static ProtoImage Raw(float[] values, params long[] shape) => new() { Tensor = values.ToTensor(shape) };

    private static readonly ProtoImage GoodGrey = Encoded(File<L8>(8));

    public sealed record Case(ProjectRequest Request, string Field, string Message, bool Conditional = false);

    public static TheoryData<string> Cases => [.. Table.Keys];

    private static readonly Dictionary<string, Case> Table = new()
    {
        ["no image"] = new(new(), "image", "is missing: give a PNG or JPEG file (encoded) or raw values in [-1, 1] (tensor)"),
        ["no format"] = new(new() { Image = Encoded(File<L8>(8), ImageFormat.Unspecified) }, "image.encoded.format", "is not set: say IMAGE_FORMAT_PNG or IMAGE_FORMAT_JPEG"),
        ["unknown format"] = new(new() { Image = Encoded(File<L8>(8), (ImageFormat)5) }, "image.encoded.format", "5 is not an ImageFormat"),
        ["empty file"] = new(new() { Image = Encoded([]) }, "image.encoded.data", "is empty"),
        ["not an image"] = new(new() { Image = Encoded([1, 2, 3, 4, 5, 6, 7, 8, 9]) }, "image.encoded.data", "is not a PNG file"),
        ["JPEG said to be PNG"] = new(new() { Image = Encoded(File<L8>(8, jpeg: true)) }, "image.encoded.data", "is a JPEG file, but format says PNG"),
        ["truncated PNG"] = new(new() { Image = Encoded(File<L8>(8)[..40]) }, "image.encoded.data", "PNG"),
        ["wrong size"] = new(new() { Image = Encoded(File<L8>(16)) }, "image.encoded.data", "is 16x16 pixels; this generator's images are 8x8: resize it first"),
        ["RGB for grey"] = new(new() { Image = Encoded(File<Rgb24>(8)) }, "image.encoded.data", "is a RGB PNG (3 channels); this generator's images have 1"),
        ["grey with alpha"] = new(new() { Image = Encoded(File<La16>(8)) }, "image.encoded.data", "is a grey-with-alpha PNG (2 channels)"),
        ["grey for RGB"] = new(new() { Image = Encoded(File<L8>(16)) }, "image.encoded.data", "is a grey PNG (1 channel); this generator's images have 3", Conditional: true),
        ["grey JPEG for RGB"] = new(new() { Image = Encoded(File<L8>(16, jpeg: true), ImageFormat.Jpeg) }, "image.encoded.data", "is a grey JPEG (1 channel)", Conditional: true),
        ["tensor shape"] = new(new() { Image = Raw(new float[72], 1, 8, 9) }, "image.tensor.shape", "[1, 8, 9] does not fit this generator: expected [image_channels, res, res] = [1, 8, 8]"),
        ["tensor batch"] = new(new() { Image = Raw(new float[128], 2, 1, 8, 8) }, "image.tensor.shape", "[2, 1, 8, 8] does not fit"),
        ["tensor range"] = new(new() { Image = Raw([.. Enumerable.Range(0, 64).Select(i => i == 9 ? 127f : 0f)], 1, 8, 8) }, "image.tensor.data", "holds 127 at element 9, outside [-1, 1]"),
        ["tensor NaN"] = new(new() { Image = Raw([.. Enumerable.Range(0, 64).Select(i => i == 2 ? float.NaN : 0f)], 1, 8, 8) }, "image.tensor.data", "non-finite value (NaN) at element 2"),
        ["latent space"] = new(new() { Image = GoodGrey, LatentSpace = (ProtoLatentSpace)9 }, "latent_space", "9 is not a LatentSpace"),
        ["negative steps"] = new(new() { Image = GoodGrey, NumSteps = -1 }, "num_steps", "must be from 1 to 10000 (0 for the service's 1000), got -1"),
        ["too many steps"] = new(new() { Image = GoodGrey, NumSteps = 10_001 }, "num_steps", "got 10001"),
        ["learning rate"] = new(new() { Image = GoodGrey, InitialLearningRate = -0.1f }, "initial_learning_rate", "must be positive and finite (0 for the default 0.1), got -0.1"),
        ["learning rate NaN"] = new(new() { Image = GoodGrey, InitialLearningRate = float.NaN }, "initial_learning_rate", "got NaN"),
        ["noise weight without noise"] = new(new() { Image = GoodGrey, NoiseRegularizationWeight = 10 }, "noise_regularization_weight", "optimize_noise is not set"),
        ["negative noise weight"] = new(new() { Image = GoodGrey, OptimizeNoise = true, NoiseRegularizationWeight = -1 }, "noise_regularization_weight", "got -1"),
        ["progress interval"] = new(new() { Image = GoodGrey, ProgressIntervalSteps = -2 }, "progress_interval_steps", "must not be negative"),
        ["reconstruction interval"] = new(new() { Image = GoodGrey, ReconstructionIntervalSteps = -2 }, "reconstruction_interval_steps", "must not be negative (0 for the service's 100)"),
    };

    [Theory, MemberData(nameof(Cases))]
    public async Task BadInputIsInvalidArgumentBeforeAnyStep(string name)
    {
        var @case = Table[name];
        var server = @case.Conditional ? servers.Conditional : servers.Grey;
        long before = server.Model.SamplesComputed;
        var e = await Assert.ThrowsAsync<RpcException>(() => ProjectAsync(server, @case.Request));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(@case.Message, e.Status.Detail, StringComparison.Ordinal);
        var violations = e.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations;
        Assert.Contains(violations, v => v.Field == @case.Field && v.Description.Contains(@case.Message, StringComparison.Ordinal));
        Assert.Equal(before, server.Model.SamplesComputed);

        // Nothing broke: a good projection follows.
        var good = new ProjectRequest { Image = @case.Conditional ? Encoded(File<Rgb24>(16)) : GoodGrey, NumSteps = 2 };
        var messages = await ProjectAsync(server, good);
        Assert.Equal(ProjectResponse.EventOneofCase.Result, messages[^1].EventCase);
    }

    [Fact]
    public async Task EveryViolationOfOneRequestIsReported()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => ProjectAsync(servers.Grey, new ProjectRequest { NumSteps = -3, InitialLearningRate = float.PositiveInfinity, ProgressIntervalSteps = -1 }));
        Assert.Equal(["image", "num_steps", "initial_learning_rate", "progress_interval_steps"], e.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field));
        Assert.StartsWith("ProjectRequest is invalid: image: is missing", e.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>Files are measured before they are read: bytes first, then the header's pixel count, before the size is compared with the generator's.</summary>
    [Fact]
    public async Task FilesOverTheLimitsAreRefusedBeforeDecoding()
    {
        await using var server = await GeneratorServer.StartAsync(TestGenerators.Factory(StyleGan.Tests.Generator.TinyGenerators.Weights(StyleGan.Tests.Generator.TinyGenerators.Grey8)),
            o => (o.MaxEncodedImageBytes, o.MaxImagePixels) = (4000, 1000));
        // 100x100 random pixels: a PNG of about 10 kB that no compression shrinks below the limit.
        var noise = new byte[100 * 100];
        new Random(1).NextBytes(noise);
        using var noisy = SixLabors.ImageSharp.Image.LoadPixelData<L8>(noise, 100, 100);
        using var stream = new MemoryStream();
        noisy.Save(stream, new PngEncoder());
        var e = await Assert.ThrowsAsync<RpcException>(() => ProjectAsync(server, new ProjectRequest { Image = Encoded(stream.ToArray()) }));
        Assert.Contains("image.encoded.data: holds", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("bytes, more than the 4000 an image file may have", e.Status.Detail, StringComparison.Ordinal);
        // A blank 40x40 PNG is small in bytes but over the pixel limit.
        e = await Assert.ThrowsAsync<RpcException>(() => ProjectAsync(server, new ProjectRequest { Image = Encoded(File<L8>(40)) }));
        Assert.Contains("image.encoded.data: is 40x40 pixels, more than the 1000 the service decodes", e.Status.Detail, StringComparison.Ordinal);
    }

    private static Task<List<ProjectResponse>> ProjectAsync(GeneratorServer server, ProjectRequest request) => ProjectTests.ProjectAsync(server.Client, request);
}
