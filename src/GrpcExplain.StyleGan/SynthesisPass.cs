using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan;

/// <summary>The latent gradient: dL/dw per sample ([N, w_dim] when one w was given, else [N, num_ws, w_dim]) and per noise map.</summary>
public sealed record LatentGradient(float[] Ws, IReadOnlyDictionary<string, float[]>? Noise);

/// <summary>
/// dL/d(parameter) of every trainable synthesis parameter (by stylegan2-ada-pytorch name, each the
/// parameter's shape in C order), and dL/dws [N, num_ws, w_dim], per layer even when one w fed them all.
/// </summary>
public sealed record GeneratorGradients(IReadOnlyDictionary<string, float[]> Parameters, float[] Ws);

/// <summary>
/// One recorded synthesis: the images and every layer's activations, so the latent gradient of any
/// image-space gradient (a loss's, a classifier's) can be taken, as often as needed. Dispose it to
/// free the activations.
/// </summary>
public sealed class SynthesisPass : IDisposable
{
    private readonly Generator _generator;
    private readonly SynthesisNetwork _network;
    private readonly Tensor[] _ws;
    private readonly List<SynthesisNetwork.LayerRecord> _records;
    private readonly Tensor _input, _image;
    private readonly bool _perLayerWs;

    internal SynthesisPass(Generator generator, SynthesisNetwork network, Tensor[] ws, List<SynthesisNetwork.LayerRecord> records,
        Tensor input, Tensor image, int batch, bool perLayerWs)
    {
        (_generator, _network, _ws, _records, _input, _image, Batch, _perLayerWs) = (generator, network, ws, records, input, image, batch, perLayerWs);
        Images = generator.Backend.Download(image);
    }

    public int Batch { get; }

    /// <summary>[N, img_channels, res, res], the same as <see cref="Generator.Synthesize"/> gives.</summary>
    public float[] Images { get; }

    /// <summary>
    /// dL/dws for dL/d(image) = <paramref name="imageGradient"/> ([N, C, H, W]); for a single w the
    /// per-layer gradients are summed, as every layer read the same w. With <paramref name="noise"/>,
    /// also dL/d(noise map) of every conv layer, by layer name.
    /// </summary>
    public LatentGradient Backward(float[] imageGradient, bool noise = false)
    {
        var g = Run(imageGradient, noise ? SynthesisGradient.Noise : SynthesisGradient.Ws);
        if (_perLayerWs) return new LatentGradient(g.Ws, g.Noise);
        var config = _generator.Config;
        var dw = new float[Batch * config.WDim];
        for (int s = 0; s < Batch; s++)
            for (int l = 0; l < config.NumWs; l++)
                for (int j = 0; j < config.WDim; j++) dw[s * config.WDim + j] += g.Ws[(s * config.NumWs + l) * config.WDim + j];
        return new LatentGradient(dw, g.Noise);
    }

    /// <summary>
    /// Training's backward: dL/d(every trainable synthesis parameter) for dL/d(image) =
    /// <paramref name="imageGradient"/> ([N, C, H, W]), and dL/dws per layer, to go on through
    /// <see cref="Generator.MappingParameterGradient"/>.
    /// </summary>
    public GeneratorGradients ParameterBackward(float[] imageGradient)
    {
        var g = Run(imageGradient, SynthesisGradient.Parameters);
        return new GeneratorGradients(g.Parameters!, g.Ws);
    }

    private SynthesisNetwork.Gradients Run(float[] imageGradient, SynthesisGradient wanted)
    {
        ObjectDisposedException.ThrowIf(_records.Count == 0, this);
        ArgumentNullException.ThrowIfNull(imageGradient);
        if (imageGradient.Length != Images.Length)
            throw new ArgumentException($"The image gradient holds {imageGradient.Length} values; the images {Images.Length} ({_image.Shape}).", nameof(imageGradient));
        int bad = Array.FindIndex(imageGradient, v => !float.IsFinite(v));
        if (bad >= 0) throw new ArgumentException($"The image gradient holds a non-finite value at element {bad}.", nameof(imageGradient));
        using var dImage = _generator.Backend.Upload(imageGradient, _image.Shape);
        return _network.Backward(_records, dImage, Batch, wanted);
    }

    public void Dispose()
    {
        foreach (var r in _records) r.Dispose();
        _records.Clear();
        foreach (var t in _ws.Distinct()) t.Dispose();
        _input.Dispose();
        _image.Dispose();
    }
}
