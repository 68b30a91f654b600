namespace GrpcExplain.StyleGan.Training.Augmentation;

/// <summary>
/// x-flip, 90° rotation and integer translation with reflect padding, composed into one gather:
/// out[c, o] = in[c, map[o]], where map[o] is the input pixel that output pixel o shows. Flip and
/// rotation make map a permutation; the translation's reflect padding (torch's 'reflect': the edge row
/// is not repeated, in[-i] = in[i]) makes some input pixels appear twice and the ones shifted out of
/// frame not at all. The forward is exact (a copy), and the vector-Jacobian product is the adjoint of the
/// gather, a scatter-add: every output pixel's gradient goes back to the pixel it was read from, so a
/// reflected pixel receives the gradient of each place it was shown.
/// </summary>
internal static class GeometricTransform
{
    /// <summary>
    /// map[y·size + x] = the input pixel shown at output (y, x). Output = T(R^k(F(input))): reading
    /// backwards, undo the translation (with reflection), then the k counter-clockwise quarter turns
    /// (R(w)[y, x] = w[x, size-1-y], as numpy's rot90), then the flip (F(w)[y, x] = w[y, size-1-x]).
    /// </summary>
    public static void BuildSourceMap(in SampleDraw d, int size, Span<int> map)
    {
        int last = size - 1;
        for (int y = 0; y < size; y++)
        {
            int ry = Reflect(y - d.TranslateY, size);
            for (int x = 0; x < size; x++)
            {
                int rx = Reflect(x - d.TranslateX, size);
                var (a, b) = d.Rotation switch
                {
                    0 => (ry, rx),
                    1 => (rx, last - ry),
                    2 => (last - ry, last - rx),
                    _ => (last - rx, ry),
                };
                if (d.XFlip) b = last - b;
                map[y * size + x] = a * size + b;
            }
        }
    }

    /// <summary>Forward: every channel plane of one sample through the map.</summary>
    public static void Forward(ReadOnlySpan<float> input, Span<float> output, int channels, ReadOnlySpan<int> map)
    {
        int plane = map.Length;
        for (int c = 0; c < channels; c++)
        {
            var src = input.Slice(c * plane, plane);
            var dst = output.Slice(c * plane, plane);
            for (int o = 0; o < plane; o++) dst[o] = src[map[o]];
        }
    }

    /// <summary>Backward: the gather's adjoint, dInput[map[o]] += dOutput[o]; dInput is overwritten.</summary>
    public static void Backward(ReadOnlySpan<float> dOutput, Span<float> dInput, int channels, ReadOnlySpan<int> map)
    {
        int plane = map.Length;
        dInput[..(channels * plane)].Clear();
        for (int c = 0; c < channels; c++)
        {
            var src = dOutput.Slice(c * plane, plane);
            var dst = dInput.Slice(c * plane, plane);
            for (int o = 0; o < plane; o++) dst[map[o]] += src[o];
        }
    }

    /// <summary>Reflect padding's index rule, folded as often as needed (shifts up to the image size).</summary>
    internal static int Reflect(int i, int size)
    {
        if (size == 1) return 0;
        int period = 2 * (size - 1);
        i %= period;
        if (i < 0) i += period;
        return i < size ? i : period - i;
    }
}
