namespace GrpcExplain.Classifiers;

/// <summary>
/// Our images (NCHW float in [-1, 1]) to a model's input tensor, as its <see cref="ClassifierConfig"/>
/// says: the same on the client of a remote model as in front of a local one, so both see the same
/// numbers. The arithmetic follows the fixture script's PyTorch expressions operation for operation.
/// </summary>
public static class Preprocessing
{
    /// <summary>Images <paramref name="start"/> to start+count-1 of the batch as the model's input tensor.</summary>
    public static Tensor ToModelInput(ClassifierConfig config, ImageBatch images, int start, int count)
    {
        CheckImages(config, images);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, images.Count);
        var input = config.Input;
        long[] shape = [count, .. input.ImageShape()];
        int c = input.Channels, hw = input.Height * input.Width, n = count * c * hw;
        var source = images.Pixels.AsSpan(start * images.ImageLength, n);
        // For NCHW, element (b, ch, i) goes to b*C*HW + ch*HW + i; for NHWC to b*HW*C + i*C + ch.
        int channelStride = input.Layout == Layout.Nchw ? hw : 1, pixelStride = input.Layout == Layout.Nchw ? 1 : c;
        if (input.Datatype == DataType.Uint8)
        {
            var levels = new byte[n];
            for (int b = 0; b < count; b++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    for (int i = 0; i < hw; i++)
                    {
                        float x01 = (source[(b * c + ch) * hw + i] + 1f) / 2f;
                        levels[b * c * hw + ch * channelStride + i * pixelStride] = (byte)MathF.Round(Math.Clamp(x01, 0f, 1f) * 255f, MidpointRounding.ToEven);
                    }
                }
            }
            return Tensor.Uint8(input.Name, shape, levels);
        }
        var norm = config.Normalization;
        var values = new float[n];
        for (int b = 0; b < count; b++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                float scale = norm?.Scale ?? 1f, mean = PerChannel(norm?.Mean, ch, 0f), std = PerChannel(norm?.Std, ch, 1f);
                for (int i = 0; i < hw; i++)
                {
                    float x01 = (source[(b * c + ch) * hw + i] + 1f) / 2f;
                    values[b * c * hw + ch * channelStride + i * pixelStride] = norm is null ? x01 : (x01 * scale - mean) / std;
                }
            }
        }
        return Tensor.Fp32(input.Name, shape, values);
    }

    /// <summary>Throws ArgumentException when the images do not fit the model or hold NaN or infinity.</summary>
    public static void CheckImages(ClassifierConfig config, ImageBatch images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var input = config.Input;
        if (images.Channels != input.Channels || images.Height != input.Height || images.Width != input.Width)
        {
            throw new ArgumentException(
                $"The classifier takes {input.Channels}x{input.Height}x{input.Width} images, got {images.Channels}x{images.Height}x{images.Width}.",
                nameof(images));
        }
        int bad = FirstNonFinite(images.Pixels);
        if (bad >= 0)
        {
            throw new ArgumentException($"Image {bad / images.ImageLength} has a value that is NaN or infinite (element {bad % images.ImageLength}).", nameof(images));
        }
    }

    internal static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }
        return -1;
    }

    private static float PerChannel(IReadOnlyList<float>? values, int channel, float none) =>
        values is null ? none : values.Count == 1 ? values[0] : values[channel];
}
