namespace GrpcExplain.Classifiers;

/// <summary>
/// The backward of <see cref="Preprocessing"/>: a gradient with respect to a model's FP32 input tensor
/// (what a white-box server differentiates) to one with respect to our images in [-1, 1]. The input is
/// (x01·scale − mean[c]) / std[c] with x01 = (x + 1) / 2 (x01 itself without normalisation), so
/// d(input)/dx = scale / (2·std[c]) (½ without); the layout is undone as well (NHWC to NCHW).
/// A UINT8 input is rounded, which has no gradient.
/// </summary>
public static class InputGradient
{
    /// <summary><paramref name="gradient"/> [count, input's image shape] to dL/d(images) [count, C, H, W].</summary>
    public static float[] ToImages(ClassifierConfig config, Tensor gradient, int count)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(gradient);
        var input = config.Input;
        if (input.Datatype != DataType.Fp32)
            throw new InvalidOperationException($"Input '{input.Name}' is {DataTypes.Name(input.Datatype)}: rounding to levels has no gradient, so the images' gradient cannot be had from it.");
        long[] expected = [count, .. input.ImageShape()];
        if (gradient.Type != DataType.Fp32 || !gradient.Shape.SequenceEqual(expected))
            throw new InvalidDataException($"Output '{gradient.Name}' is {DataTypes.Name(gradient.Type)} [{string.Join(", ", gradient.Shape)}]; " +
                $"a gradient of input '{input.Name}' is FP32 [{string.Join(", ", expected)}].");
        var g = gradient.Floats;
        if (Preprocessing.FirstNonFinite(g) is int bad and >= 0)
            throw new InvalidDataException($"Output '{gradient.Name}' holds a non-finite value (element {bad}).");
        var norm = config.Normalization;
        int c = input.Channels, hw = input.Height * input.Width;
        // The same index map as Preprocessing.ToModelInput: (b, ch, i) of NCHW sits at b·C·HW + ch·channelStride + i·pixelStride.
        int channelStride = input.Layout == Layout.Nchw ? hw : 1, pixelStride = input.Layout == Layout.Nchw ? 1 : c;
        var images = new float[count * c * hw];
        for (int b = 0; b < count; b++)
            for (int ch = 0; ch < c; ch++)
            {
                float factor = norm is null ? 0.5f : norm.Scale / (2f * PerChannel(norm.Std, ch));
                for (int i = 0; i < hw; i++)
                    images[(b * c + ch) * hw + i] = factor * g[b * c * hw + ch * channelStride + i * pixelStride];
            }
        return images;
    }

    private static float PerChannel(IReadOnlyList<float> values, int channel) => values.Count == 1 ? values[0] : values[channel];
}
