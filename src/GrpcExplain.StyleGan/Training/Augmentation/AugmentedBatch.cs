using System.Buffers;

namespace GrpcExplain.StyleGan.Training.Augmentation;

/// <summary>
/// One batch through the <see cref="AugmentPipe"/>: the augmented images, and the draw that made them,
/// kept so the fakes' gradient can go back through exactly the same transforms.
/// </summary>
public sealed class AugmentedBatch
{
    private readonly SampleDraw[] _draws;
    private readonly int _n, _channels, _size;

    internal AugmentedBatch(float[] images, SampleDraw[] draws, int n, int channels, int size)
    {
        Images = images;
        _draws = draws;
        (_n, _channels, _size) = (n, channels, size);
    }

    /// <summary>The augmented images, [n, channels, size, size].</summary>
    public float[] Images { get; }

    /// <summary>Each sample's draw (for tests and diagnostics).</summary>
    internal IReadOnlyList<SampleDraw> Draws => _draws;

    /// <summary>Forward: each sample's geometry (a gather), then its colour transforms, in place on the copy.</summary>
    internal static AugmentedBatch Forward(float[] images, SampleDraw[] draws, int n, int channels, int size)
    {
        var output = new float[images.Length];
        int perSample = channels * size * size;
        ForEachSample(n, perSample, i =>
        {
            var src = images.AsSpan(i * perSample, perSample);
            var dst = output.AsSpan(i * perSample, perSample);
            var d = draws[i];
            if (d.HasGeometry)
            {
                var map = ArrayPool<int>.Shared.Rent(size * size);
                GeometricTransform.BuildSourceMap(d, size, map.AsSpan(0, size * size));
                GeometricTransform.Forward(src, dst, channels, map.AsSpan(0, size * size));
                ArrayPool<int>.Shared.Return(map);
            }
            else src.CopyTo(dst);
            if (d.HasColor) ColorTransform.Forward(dst, channels, d);
        });
        return new AugmentedBatch(output, draws, n, channels, size);
    }

    /// <summary>
    /// The vector-Jacobian product: given dL/d(augmented images), returns dL/d(input images), exact for
    /// this draw (colour's transposes, then the geometry's scatter-add). Can be called more than once.
    /// </summary>
    public float[] Backward(float[] dAugmented)
    {
        CheckShape(dAugmented, nameof(dAugmented), _n, _channels, _size);
        var dInput = new float[dAugmented.Length];
        int perSample = _channels * _size * _size;
        ForEachSample(_n, perSample, i =>
        {
            var d = _draws[i];
            var g = dInput.AsSpan(i * perSample, perSample);
            if (!d.HasGeometry)
            {
                dAugmented.AsSpan(i * perSample, perSample).CopyTo(g);
                ColorTransform.Backward(g, _channels, d);
                return;
            }
            var dOut = dAugmented.AsSpan(i * perSample, perSample);
            float[]? scratch = null;
            if (d.HasColor)
            {
                scratch = ArrayPool<float>.Shared.Rent(perSample);
                dOut.CopyTo(scratch);
                ColorTransform.Backward(scratch.AsSpan(0, perSample), _channels, d);
                dOut = scratch.AsSpan(0, perSample);
            }
            var map = ArrayPool<int>.Shared.Rent(_size * _size);
            GeometricTransform.BuildSourceMap(d, _size, map.AsSpan(0, _size * _size));
            GeometricTransform.Backward(dOut, g, _channels, map.AsSpan(0, _size * _size));
            ArrayPool<int>.Shared.Return(map);
            if (scratch != null) ArrayPool<float>.Shared.Return(scratch);
        });
        return dInput;
    }

    /// <summary>
    /// Test hook: undoes the geometry of this draw on images that went through geometry only. Returns
    /// the recovered images and which pixels could be recovered: all of them under flips and rotations
    /// (permutations), and under a translation every pixel still shown somewhere (the ones shifted out
    /// of frame are gone; ADA's reflect padding only shows others twice).
    /// </summary>
    internal (float[] Images, bool[] Recovered) InvertGeometry(float[] augmented)
    {
        CheckShape(augmented, nameof(augmented), _n, _channels, _size);
        var images = new float[augmented.Length];
        var recovered = new bool[augmented.Length];
        int plane = _size * _size, perSample = _channels * plane;
        var map = new int[plane];
        for (int i = 0; i < _n; i++)
        {
            GeometricTransform.BuildSourceMap(_draws[i], _size, map);
            for (int c = 0; c < _channels; c++)
            {
                int offset = i * perSample + c * plane;
                for (int o = 0; o < plane; o++)
                {
                    images[offset + map[o]] = augmented[offset + o];
                    recovered[offset + map[o]] = true;
                }
            }
        }
        return (images, recovered);
    }

    internal static void CheckShape(float[] images, string name, int n, int channels, int size)
    {
        ArgumentNullException.ThrowIfNull(images, name);
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "The batch size n must be at least 1.");
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be at least 1.");
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "size must be at least 1.");
        long expected = (long)n * channels * size * size;
        if (images.Length != expected)
            throw new ArgumentException($"{name} has {images.Length} values, but n x channels x size x size = {n} x {channels} x {size} x {size} = {expected}.", name);
    }

    /// <summary>Samples are independent: spread them over the cores once a batch is worth a thread hop.</summary>
    internal static void ForEachSample(int n, int perSample, Action<int> body)
    {
        if (n > 1 && (long)n * perSample >= 1 << 15) Parallel.For(0, n, body);
        else for (int i = 0; i < n; i++) body(i);
    }
}
