using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan;

internal sealed partial class SynthesisNetwork
{
    /// <summary>
    /// The vector-Jacobian product of synthesis: from dL/d(image) to dL/dw for every w index
    /// ([N, num_ws, w_dim], host) and, when asked, dL/d(noise map) of every conv layer (the map each
    /// layer added: noise_const for 'const', the drawn noise for 'random').
    /// </summary>
    public (float[] Ws, Dictionary<string, float[]>? Noise) Backward(IReadOnlyList<LayerRecord> records, Tensor dImage, int n, bool noiseGradients)
    {
        int numWs = _config.NumWs, wDim = _config.WDim;
        var dWs = new float[n * numWs * wDim];
        var dNoise = noiseGradients ? new Dictionary<string, float[]>() : null;
        Tensor dImg = dImage;       // dL/d(image after this block)
        Tensor? dX = null;          // dL/d(activation flowing into the next layer up)
        bool ownImg = false;
        for (int i = records.Count - 1; i >= 0; i--)
        {
            var r = records[i];
            if (r.Layer.IsToRgb)
            {
                // image_out = upsample(image_in) + rgb: the ToRGB output's gradient is dImg itself.
                var dFromRgb = LayerBackward(r, dImg, n, dWs, dNoise);
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
            var dIn = LayerBackward(r, dX!, n, dWs, dNoise);
            dX!.Dispose();
            dX = dIn;
        }
        dX?.Dispose();
        if (ownImg) dImg.Dispose();
        return (dWs, dNoise);
    }

    private Tensor Accumulate(Tensor? into, Tensor add)
    {
        if (into is null) return add;
        B.AddForward(into, add, into);
        add.Dispose();
        return into;
    }

    /// <summary>One layer backwards: epilogue, modulated convolution (data and styles), affine; returns dL/d(layer input).</summary>
    private Tensor LayerBackward(LayerRecord r, Tensor dOut, int n, float[] dWs, Dictionary<string, float[]>? dNoise)
    {
        var layer = r.Layer;
        using var dPre = B.Allocate(r.Pre.Shape);
        using var dNoiseMap = dNoise is not null && r.Noise is not null ? B.Allocate(r.Noise.Shape) : null;
        B.BiasActivateBackward(r.Out, dOut, r.Noise, r.Noise is null ? null : layer.NoiseStrength, dPre, null, dNoiseMap, null, Epilogue(layer));
        if (dNoiseMap is not null) dNoise![layer.Name] = B.Download(dNoiseMap);
        var dx = B.Allocate(r.X.Shape);
        using var dStyles = B.Allocate(r.Styles.Shape);
        B.ModulatedConv2dBackward(r.X, layer.Weight, r.Styles, r.Pre, dPre, dx, null, dStyles, layer.Conv);
        using var dw = B.Allocate(n, _config.WDim);
        B.FullyConnectedBackward(r.W, layer.AffineWeight, r.Styles, dStyles, dw, null, null, Affine);
        var host = B.Download(dw);
        int numWs = _config.NumWs, wDim = _config.WDim;
        for (int s = 0; s < n; s++)
            for (int j = 0; j < wDim; j++) dWs[(s * numWs + layer.WIndex) * wDim + j] += host[s * wDim + j];
        return dx;
    }
}
