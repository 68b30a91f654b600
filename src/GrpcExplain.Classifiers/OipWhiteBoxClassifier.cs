using Grpc.Net.Client;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifiers;

/// <summary>
/// A white-box model behind an Open Inference Protocol server (ours, serving a model with
/// <c>reference.safetensors</c>): besides probabilities, the class logit's image gradient and Grad-CAM,
/// asked for as the extra outputs <see cref="WhiteBoxOutputs"/> describes. The server differentiates with
/// respect to its input tensor; the gradient is carried back through this side's preprocessing to the
/// images in [-1, 1] (<see cref="InputGradient"/>). Made by <see cref="OipClassifier.ConnectAsync(GrpcChannel, string, string?, ClassifierConfig, OipClassifierOptions?, CancellationToken)"/>
/// when the model's metadata lists both outputs.
/// </summary>
public sealed class OipWhiteBoxClassifier : OipClassifier, IImageGradientClassifier, IGradCamClassifier
{
    internal OipWhiteBoxClassifier(GRPCInferenceService.GRPCInferenceServiceClient client, ClassifierConfig config, OipClassifierOptions options,
        ClassifierDescription description, GrpcChannel? ownedChannel)
        : base(client, config, options, description, ownedChannel)
    {
    }

    public async Task<(Predictions Predictions, float[] Gradient)> ClassLogitGradientAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken)
    {
        Description.CheckClass(targetClass);
        ArgumentNullException.ThrowIfNull(images);
        int labels = Config.ClassLabels.Count;
        var probabilities = new float[images.Count * labels];
        var gradient = new float[images.Pixels.Length];
        await InferAsync(images, [Config.Output.Name, WhiteBoxOutputs.LogitGradient], r => WhiteBoxOutputs.SetTargetClass(r, targetClass), (response, start, count) =>
        {
            ReadProbabilities(response, count).CopyTo(probabilities, start * labels);
            InputGradient.ToImages(Config, OipTensors.ReadOutput(response, WhiteBoxOutputs.LogitGradient), count).CopyTo(gradient, start * images.ImageLength);
        }, cancellationToken).ConfigureAwait(false);
        return (new Predictions(probabilities, images.Count, Config.ClassLabels), gradient);
    }

    public async Task<float[]> GradCamAsync(ImageBatch images, int targetClass, CancellationToken cancellationToken)
    {
        Description.CheckClass(targetClass);
        ArgumentNullException.ThrowIfNull(images);
        int plane = images.Height * images.Width;
        var maps = new float[images.Count * plane];
        await InferAsync(images, [WhiteBoxOutputs.GradCam], r => WhiteBoxOutputs.SetTargetClass(r, targetClass), (response, start, count) =>
        {
            var map = OipTensors.ReadOutput(response, WhiteBoxOutputs.GradCam);
            long[] expected = [count, images.Height, images.Width];
            if (map.Type != DataType.Fp32 || !map.Shape.SequenceEqual(expected))
                throw new InvalidDataException($"Output '{map.Name}' is {DataTypes.Name(map.Type)} [{string.Join(", ", map.Shape)}]; Grad-CAM maps are FP32 [{string.Join(", ", expected)}].");
            if (map.Floats.Any(v => !(v >= 0 && v <= 1)))
                throw new InvalidDataException($"Output '{map.Name}' holds values outside [0, 1]; Grad-CAM maps are normalised.");
            map.Floats.CopyTo(maps, start * plane);
        }, cancellationToken).ConfigureAwait(false);
        return maps;
    }

    /// <summary>
    /// Whether the server offers both white-box outputs and this side can use them: an FP32 input (UINT8
    /// levels have no gradient) and softmax over one logit per class (the target class indexes the logits).
    /// A server that lists them with the wrong shapes is refused, as any other mismatch.
    /// </summary>
    internal static bool Offered(string model, ClassifierConfig config, ModelMetadataResponse metadata)
    {
        var offered = metadata.Outputs.Where(o => WhiteBoxOutputs.IsWhiteBoxOutput(o.Name)).Select(OipTensors.Spec).ToList();
        if (offered.Count < 2 || config.Input.Datatype != DataType.Fp32 || config.Output.Activation != Activation.Softmax) return false;
        var input = config.Input;
        var expected = new Dictionary<string, long[]>
        {
            [WhiteBoxOutputs.LogitGradient] = [-1, .. input.ImageShape()],
            [WhiteBoxOutputs.GradCam] = [-1, input.Height, input.Width],
        };
        var wrong = offered.Where(o => o.Type != DataType.Fp32 || !o.Shape.SequenceEqual(expected[o.Name])).ToList();
        if (wrong.Count > 0)
            throw new InvalidOperationException($"Model '{model}' declares {string.Join(", ", wrong)}; with the config's input these are FP32 " +
                string.Join(" and ", wrong.Select(o => $"{o.Name} [{string.Join(", ", expected[o.Name])}]")) + ".");
        return true;
    }
}
