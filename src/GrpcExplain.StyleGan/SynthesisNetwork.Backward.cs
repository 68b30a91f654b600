using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan;

/// <summary>What one backward pass through synthesis asked for.</summary>
[Flags]
internal enum SynthesisGradient
{
    /// <summary>dL/dw for every w index: always computed (the styles' gradient is on the way to everything else).</summary>
    Ws = 0,
    /// <summary>dL/d(noise map) of every conv layer.</summary>
    Noise = 1,
    /// <summary>dL/d(every trainable synthesis parameter), by stylegan2-ada-pytorch name.</summary>
    Parameters = 2,
}

internal sealed partial class SynthesisNetwork
{
    /// <summary>Gradients from one backward pass; a dictionary is null where it was not asked for.</summary>
    internal sealed record Gradients(float[] Ws, Dictionary<string, float[]>? Noise, Dictionary<string, float[]>? Parameters);

    /// <summary>
    /// The vector-Jacobian product of synthesis: from dL/d(image) to dL/dw for every w index
    /// ([N, num_ws, w_dim], host) and, as <paramref name="wanted"/> says, dL/d(noise map) of every conv
    /// layer (the map each layer added: noise_const for 'const', the drawn noise for 'random') and
    /// dL/d(parameter) of every trainable parameter. The latent path (projection's) computes nothing else.
    /// </summary>
    public Gradients Backward(IReadOnlyList<LayerRecord> records, Tensor dImage, int n, SynthesisGradient wanted)
    {
        int numWs = _config.NumWs, wDim = _config.WDim;
        var g = new Gradients(new float[n * numWs * wDim],
            wanted.HasFlag(SynthesisGradient.Noise) ? [] : null,
            wanted.HasFlag(SynthesisGradient.Parameters) ? [] : null);
        Tensor dImg = dImage;       // dL/d(image after this block)
        Tensor? dX = null;          // dL/d(activation flowing into the next layer up)
        bool ownImg = false;
        for (int i = records.Count - 1; i >= 0; i--)
        {
            var r = records[i];
            if (r.Layer.IsToRgb)
            {
                // image_out = upsample(image_in) + rgb: the ToRGB output's gradient is dImg itself.
                var dFromRgb = LayerBackward(r, dImg, n, g, needDx: true)!;
                dX = Accumulate(dX, dFromRgb);
                if (r.Layer.Resolution > 4)
                {
                    var dPrev = B.Allocate(n, _config.ImgChannels, r.Layer.Resolution / 2, r.Layer.Resolution / 2);
                    B.Upfirdn2dBackward(dImg, dPrev, Upfirdn2dParams.Upsample2x);
                    if (ownImg) dImg.Dispose();
                    dImg = dPrev;
                    ownImg = true;
                }
                continue;
            }
            // The first layer's input is the learned constant: its gradient is wanted only for the constant's.
            var dIn = LayerBackward(r, dX!, n, g, needDx: i > 0 || g.Parameters is not null);
            dX!.Dispose();
            dX = dIn;
        }
        if (g.Parameters is not null) g.Parameters[ConstName] = SumOverBatch(B.Download(dX!), n);
        dX?.Dispose();
        if (ownImg) dImg.Dispose();
        return g;
    }

    private Tensor Accumulate(Tensor? into, Tensor add)
    {
        if (into is null) return add;
        B.AddForward(into, add, into);
        add.Dispose();
        return into;
    }

    /// <summary>
    /// One layer backwards: epilogue, modulated convolution (data and styles), affine; returns dL/d(layer
    /// input) (null when not <paramref name="needDx"/>). Parameter gradients, when collected, come from the
    /// same kernel calls: the ops write the extra outputs they are given.
    /// </summary>
    private Tensor? LayerBackward(LayerRecord r, Tensor dOut, int n, Gradients g, bool needDx)
    {
        var layer = r.Layer;
        bool parameters = g.Parameters is not null;
        using var dPre = B.Allocate(r.Pre.Shape);
        using var dNoiseMap = g.Noise is not null && r.Noise is not null ? B.Allocate(r.Noise.Shape) : null;
        using var dBias = parameters ? B.Allocate(layer.Bias.Shape) : null;
        using var dStrength = parameters && r.Noise is not null ? B.Allocate(layer.NoiseStrength!.Shape) : null;
        B.BiasActivateBackward(r.Out, dOut, r.Noise, r.Noise is null ? null : layer.NoiseStrength, dPre, dBias, dNoiseMap, dStrength, Epilogue(layer));
        if (dNoiseMap is not null) g.Noise![layer.Name] = B.Download(dNoiseMap);

        var dx = needDx ? B.Allocate(r.X.Shape) : null;
        using var dWeight = parameters ? B.Allocate(layer.Weight.Shape) : null;
        using var dStyles = B.Allocate(r.Styles.Shape);
        B.ModulatedConv2dBackward(r.X, layer.Weight, r.Styles, r.Pre, dPre, dx, dWeight, dStyles, layer.Conv);

        using var dw = B.Allocate(n, _config.WDim);
        using var dAffineWeight = parameters ? B.Allocate(layer.AffineWeight.Shape) : null;
        using var dAffineBias = parameters ? B.Allocate(layer.AffineBias.Shape) : null;
        B.FullyConnectedBackward(r.W, layer.AffineWeight, r.Styles, dStyles, dw, dAffineWeight, dAffineBias, layer.Affine);
        var host = B.Download(dw);
        int numWs = _config.NumWs, wDim = _config.WDim;
        for (int s = 0; s < n; s++)
            for (int j = 0; j < wDim; j++) g.Ws[(s * numWs + layer.WIndex) * wDim + j] += host[s * wDim + j];

        if (parameters)
        {
            var p = g.Parameters!;
            p[$"{layer.Name}.weight"] = B.Download(dWeight!);
            p[$"{layer.Name}.bias"] = B.Download(dBias!);
            p[$"{layer.Name}.affine.weight"] = B.Download(dAffineWeight!);
            p[$"{layer.Name}.affine.bias"] = B.Download(dAffineBias!);
            // With noise 'none' the strength multiplies nothing: its gradient is zero.
            if (!layer.IsToRgb) p[$"{layer.Name}.noise_strength"] = dStrength is null ? [0f] : B.Download(dStrength);
        }
        return dx;
    }

    /// <summary>The constant input is repeated over the batch (<see cref="Constant"/>): its gradient is the sum of the samples'.</summary>
    private static float[] SumOverBatch(float[] perSample, int n)
    {
        int size = perSample.Length / n;
        var sum = new float[size];
        for (int s = 0; s < n; s++)
            for (int i = 0; i < size; i++) sum[i] += perSample[s * size + i];
        return sum;
    }
}
