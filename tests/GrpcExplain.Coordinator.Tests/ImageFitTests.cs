using GrpcExplain.Protos.V1;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using Case = GrpcExplain.Protos.V1.ExplainResponse.EventOneofCase;
using ProtoImage = GrpcExplain.Protos.V1.Image;

namespace GrpcExplain.Coordinator.Tests;

/// <summary>
/// A file of another size than the generator's is fitted, as the request's image_fit says or, unset, as
/// the classifier was trained (its classifier.json's fit; the test classifier's is the default, resize).
/// </summary>
public class ImageFitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALargerFileIsFittedAsImageFitSaysOrElseAsTheClassifierWasTrained()
    {
        await using var deployment = await Deployment.StartAsync();
        int res = DirectionModel.Resolution;
        // The input in the middle of a wider white frame: its central crop is the input itself.
        using var input = SixLabors.ImageSharp.Image.Load<L8>(deployment.Direction.InputPng);
        using var framed = new Image<L8>(res + 12, res + 8, new L8(255));
        for (int y = 0; y < res; y++)
            for (int x = 0; x < res; x++) framed[x + 6, y + 4] = input[x, y];

        var exact = await OriginalPredictionAsync(deployment, deployment.Direction.InputPng, ImageFit.Unspecified);
        var cropped = await OriginalPredictionAsync(deployment, Png(framed), ImageFit.CenterCrop);
        var resized = await OriginalPredictionAsync(deployment, Png(framed), ImageFit.Resize);
        var byClassifier = await OriginalPredictionAsync(deployment, Png(framed), ImageFit.Unspecified);

        Assert.Equal(exact.Prediction.Probabilities, cropped.Prediction.Probabilities);
        Assert.Equal(resized.Prediction.Probabilities, byClassifier.Prediction.Probabilities);
        // Resizing takes the 40x40 centre (white frame included) down to 32x32: another image, another prediction.
        Assert.NotEqual(exact.Prediction.Probabilities, resized.Prediction.Probabilities);

        // The stream sends back the input as fitted: the crop is the input itself, the resize a 32x32 picture with the frame in it.
        Assert.Equal(Pixels(input), Pixels(exact.PngInput));
        Assert.Equal(Pixels(input), Pixels(cropped.PngInput));
        using var resizedInput = SixLabors.ImageSharp.Image.Load<L8>(resized.PngInput.Span);
        Assert.Equal((res, res), (resizedInput.Width, resizedInput.Height));
        Assert.Equal(255, resizedInput[0, res / 2].PackedValue);
        Assert.Equal(Pixels(resizedInput), Pixels(byClassifier.PngInput));
    }

    private static byte[] Pixels(Google.Protobuf.ByteString png)
    {
        using var image = SixLabors.ImageSharp.Image.Load<L8>(png.Span);
        return Pixels(image);
    }

    private static byte[] Pixels(Image<L8> image)
    {
        var pixels = new byte[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    private static async Task<OriginalPrediction> OriginalPredictionAsync(Deployment deployment, byte[] png, ImageFit fit)
    {
        var request = ExplainTests.Request(deployment);
        request.Image = new ProtoImage { Encoded = new EncodedImage { Format = ImageFormat.Png, Data = Google.Protobuf.ByteString.CopyFrom(png) } };
        request.ImageFit = fit;
        request.Encoding = new EncodingOptions { NumSteps = 1 };
        request.NumFrames = 2;
        using var call = deployment.Client.Explain(request, cancellationToken: Ct);
        var responses = await ExplainTests.ReadAllAsync(call);
        return responses.Single(r => r.EventCase == Case.OriginalPrediction).OriginalPrediction;
    }

    private static byte[] Png(Image<L8> image)
    {
        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder());
        return stream.ToArray();
    }
}
