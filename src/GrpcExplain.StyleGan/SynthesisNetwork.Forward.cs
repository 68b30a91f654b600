using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan;

/// <summary>
/// Where the conv layers' noise comes from: a <see cref="NoiseMode"/> (with the seeded generator that
/// 'random' draws from), or the caller's maps by layer name, [1, 1, r, r] (shared by the batch) or
/// [N, 1, r, r], already checked by <see cref="Generator"/>.
/// </summary>
internal readonly record struct NoiseInput(NoiseMode Mode, Random? Random = null, IReadOnlyDictionary<string, float[]>? Maps = null);

internal sealed partial class SynthesisNetwork
{
    /// <summary>What one layer's backward needs. X belongs to the layer before (or to the pass).</summary>
    internal sealed record LayerRecord(Layer Layer, Tensor X, Tensor W, Tensor Styles, Tensor Pre, Tensor Out, Tensor? Noise) : IDisposable
    {
        public void Dispose()
        {
            Styles.Dispose();
            Pre.Dispose();
            if (!ReferenceEquals(Pre, Out)) Out.Dispose();
            if (Noise is not null && !ReferenceEquals(Noise, Layer.NoiseConst)) Noise.Dispose();
        }
    }

    /// <summary>
    /// Called after every layer (and every skip connection's upsample-and-add) of a pass with its
    /// name: native-bench's per-layer profile, which synchronises the backend and reads a clock.
    /// </summary>
    internal Action<string>? Profiler { get; set; }

    /// <summary>
    /// ws: one [N, w_dim] tensor per w index (the same tensor at every index for a single w).
    /// Returns the image [N, img_channels, res, res]; with <paramref name="records"/> non-null, keeps
    /// every layer's activations there for <see cref="Backward"/>.
    /// </summary>
    public Tensor Forward(IReadOnlyList<Tensor> ws, int n, NoiseInput noise, List<LayerRecord>? records, out Tensor input)
    {
        input = Constant(n);
        var x = input;
        Tensor? img = null;
        bool imgIsRecorded = false; // the first ToRGB output is the image itself; a record may own it
        foreach (var layer in _layers)
        {
            var record = LayerForward(layer, x, ws[layer.WIndex], n, noise, records is not null);
            Profiler?.Invoke(layer.Name);
            if (records is not null) records.Add(record);
            if (!layer.IsToRgb)
            {
                if (records is null && !ReferenceEquals(x, input)) x.Dispose();
                x = record.Out;
                if (records is null) record.Styles.Dispose();
                continue;
            }
            // Skip architecture: image = upsample(previous image) + this block's ToRGB output.
            var rgb = record.Out;
            if (img is null)
            {
                img = rgb;
                imgIsRecorded = records is not null;
            }
            else
            {
                var up = B.Allocate(rgb.Shape);
                B.Upfirdn2dForward(img, up, Upfirdn2dParams.Upsample2x);
                B.AddForward(up, rgb, up);
                if (!imgIsRecorded) img.Dispose();
                if (records is null) rgb.Dispose();
                img = up;
                imgIsRecorded = false;
                Profiler?.Invoke($"synthesis.b{layer.Resolution}.skip");
            }
            if (records is null) record.Styles.Dispose();
        }
        if (records is null && !ReferenceEquals(x, input)) x.Dispose();
        // The caller owns the image: never hand out a tensor a record will dispose.
        return imgIsRecorded ? CopyOf(img!) : img!;
    }

    private LayerRecord LayerForward(Layer layer, Tensor x, Tensor w, int n, NoiseInput noise, bool keep)
    {
        var styles = B.Allocate(n, layer.InChannels);
        B.FullyConnectedForward(w, layer.AffineWeight, layer.AffineBias, styles, layer.Affine);
        var conv = layer.Conv;
        var pre = B.Allocate(conv.OutputShape(x.Shape, layer.Weight.Shape));
        var noiseMap = NoiseMap(layer, n, noise);
        var epilogue = new ConvEpilogue(layer.Bias, noiseMap, noiseMap is null ? null : layer.NoiseStrength, Epilogue(layer));
        // Backward needs the convolution's output (demodulation's gradient) and the activation's, so a
        // recorded pass keeps both; otherwise the epilogue is fused into the convolution's store.
        var output = pre;
        if (keep)
        {
            B.ModulatedConv2dForward(x, layer.Weight, styles, pre, conv);
            output = B.Allocate(pre.Shape);
            B.BiasActivateForward(pre, epilogue.Bias, epilogue.Noise, epilogue.NoiseStrength, output, epilogue.Params);
        }
        else B.ModulatedConv2dForward(x, layer.Weight, styles, pre, conv, epilogue);
        if (!keep && noiseMap is not null && !ReferenceEquals(noiseMap, layer.NoiseConst))
        {
            noiseMap.Dispose();
            noiseMap = null;
        }
        return new LayerRecord(layer, x, w, styles, pre, output, noiseMap);
    }

    /// <summary>The map a conv layer adds (times its noise strength); null for ToRGB and for 'none'.</summary>
    private Tensor? NoiseMap(Layer layer, int n, NoiseInput noise)
    {
        int res = layer.Resolution;
        if (layer.IsToRgb) return null;
        if (noise.Maps is { } maps)
        {
            var map = maps[layer.Name];
            return B.Upload(map, new Shape(map.Length == res * res ? 1 : n, 1, res, res));
        }
        return noise.Mode switch
        {
            NoiseMode.Const => layer.NoiseConst,
            NoiseMode.Random => B.Upload(Gaussian(noise.Random!, n * res * res), new Shape(n, 1, res, res)),
            _ => null,
        };
    }

    private Tensor CopyOf(Tensor t)
    {
        var c = B.Allocate(t.Shape);
        using var zero = B.Allocate(t.Shape);
        B.AddForward(t, zero, c);
        return c;
    }

    /// <summary>Standard normal samples (Box–Muller) from a seeded generator: 'random' noise, reproducible by seed.</summary>
    internal static float[] Gaussian(Random rng, int count)
    {
        var a = new float[count];
        for (int i = 0; i < count; i += 2)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble(), r = Math.Sqrt(-2 * Math.Log(u1));
            a[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count) a[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }
        return a;
    }
}
