using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan;

/// <summary>How the synthesis layers get their noise: the stored noise_const maps, fresh Gaussian noise, or none.</summary>
public enum NoiseMode { Const, Random, None }

/// <summary>A synthesis layer that adds per-pixel noise: its name (the key of noise maps and their gradients) and map size.</summary>
public sealed record NoiseLayer(string Name, int Resolution);

/// <summary>
/// A StyleGAN2 generator (mapping and synthesis) on one kernel backend, faithful to NVIDIA's
/// stylegan2-ada-pytorch in float32: the same weights, latents and noise give the same images.
/// Latents and images cross this API as host arrays in C order.
/// </summary>
public sealed partial class Generator : IDisposable
{
    /// <summary>z [N, z_dim] (and c [N, c_dim] when conditional) → ws [N, num_ws, w_dim], truncated towards w_avg.</summary>
    public float[] Map(float[] z, int batch, float[]? c = null, float truncationPsi = 1f, int? truncationCutoff = null)
    {
        CheckMappingInputs(z, batch, c, truncationPsi, truncationCutoff);
        var w = _mapping.Forward(z, c, batch, record: false, out _);
        return Broadcast(w, batch, truncationPsi, truncationCutoff);
    }

    /// <summary>
    /// ws as [N, w_dim] (one w per sample, used by every layer) or [N, num_ws, w_dim] (W+) → the network's
    /// raw output [N, img_channels, res, res], nominally in [-1, 1], unclamped.
    /// </summary>
    public float[] Synthesize(float[] ws, int batch, NoiseMode noise = NoiseMode.Const, int noiseSeed = 0) =>
        Synthesize(ws, batch, Noise(noise, noiseSeed));

    /// <summary>
    /// Synthesis with the caller's noise maps instead of a <see cref="NoiseMode"/>: one map for every layer
    /// of <see cref="NoiseLayers"/>, by name, [r, r] (added to every sample) or [N, r, r] (one per sample),
    /// as the stored noise_const maps are (before the layer's noise strength scales them). Projection
    /// optimises these maps.
    /// </summary>
    public float[] Synthesize(float[] ws, int batch, IReadOnlyDictionary<string, float[]> noiseMaps) =>
        Synthesize(ws, batch, Noise(noiseMaps, batch));

    /// <summary>
    /// A synthesis pass that remembers what its backward needs: the images, then
    /// <see cref="SynthesisPass.Backward"/> for the latent gradient of any image-space gradient.
    /// </summary>
    public SynthesisPass Forward(float[] ws, int batch, NoiseMode noise = NoiseMode.Const, int noiseSeed = 0) =>
        Forward(ws, batch, Noise(noise, noiseSeed));

    /// <summary>
    /// A recorded pass with the caller's noise maps (as <see cref="Synthesize(float[], int, IReadOnlyDictionary{string, float[]})"/>);
    /// <see cref="SynthesisPass.Backward"/> with noise gradients then gives dL/d(map) for each of them.
    /// </summary>
    public SynthesisPass Forward(float[] ws, int batch, IReadOnlyDictionary<string, float[]> noiseMaps) =>
        Forward(ws, batch, Noise(noiseMaps, batch));

    /// <summary>The layers that add noise, in synthesis order.</summary>
    public IReadOnlyList<NoiseLayer> NoiseLayers => _synthesis.NoiseLayers;

    private float[] Synthesize(float[] ws, int batch, NoiseInput noise)
    {
        var perLayer = UploadWs(ws, batch);
        try
        {
            using var img = _synthesis.Forward(perLayer, batch, noise, null, out var input);
            input.Dispose();
            return Backend.Download(img);
        }
        finally
        {
            foreach (var t in perLayer.Distinct()) t.Dispose();
        }
    }

    private SynthesisPass Forward(float[] ws, int batch, NoiseInput noise)
    {
        var perLayer = UploadWs(ws, batch);
        var records = new List<SynthesisNetwork.LayerRecord>();
        var img = _synthesis.Forward(perLayer, batch, noise, records, out var input);
        return new SynthesisPass(this, _synthesis, perLayer, records, input, img, batch, perLayerWs: ws.Length != batch * Config.WDim);
    }

    private static NoiseInput Noise(NoiseMode mode, int seed) => new(mode, mode == NoiseMode.Random ? new Random(seed) : null);

    /// <summary>Exactly the noise layers, each map [r, r] or [batch, r, r], finite: checked before anything is uploaded.</summary>
    private NoiseInput Noise(IReadOnlyDictionary<string, float[]> maps, int batch)
    {
        ArgumentNullException.ThrowIfNull(maps);
        var layers = NoiseLayers;
        var unknown = maps.Keys.Where(k => !layers.Any(l => l.Name == k)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Noise maps for unknown layers: {string.Join(", ", unknown)}; the noise layers are {string.Join(", ", layers.Select(l => l.Name))}.", nameof(maps));
        foreach (var (name, res) in layers)
        {
            if (!maps.TryGetValue(name, out var map) || map is null)
                throw new ArgumentException($"No noise map for layer {name}: give one for every noise layer ({string.Join(", ", layers.Select(l => l.Name))}).", nameof(maps));
            if (map.Length != res * res && map.Length != batch * res * res)
                throw new ArgumentException($"The noise map of {name} holds {map.Length} values; expected [{res}, {res}] or [N, {res}, {res}] = [{batch}, {res}, {res}].", nameof(maps));
            CheckFinite(map, $"the noise map of {name}");
        }
        return new NoiseInput(NoiseMode.Const, Maps: maps);
    }

    /// <summary>
    /// dL/dz through the mapping network, from dL/dws [N, num_ws, w_dim] (the gradient a
    /// <see cref="SynthesisPass"/> returns), for the same z, c and truncation that made the ws.
    /// </summary>
    public float[] MappingGradient(float[] z, int batch, float[] dWs, float[]? c = null, float truncationPsi = 1f, int? truncationCutoff = null) =>
        MappingBackward(z, batch, dWs, c, truncationPsi, truncationCutoff, parameters: null);

    /// <summary>
    /// Through the truncation (ws[l] = w_avg + psi·(w − w_avg) for l &lt; cutoff, else w, so
    /// dL/dw = Σ_l (psi or 1)·dL/dws[l]) and the mapping network: dL/dz, and with
    /// <paramref name="parameters"/> the mapping parameters' gradients into it.
    /// </summary>
    private float[] MappingBackward(float[] z, int batch, float[] dWs, float[]? c, float truncationPsi, int? truncationCutoff,
        Dictionary<string, float[]>? parameters)
    {
        CheckMappingInputs(z, batch, c, truncationPsi, truncationCutoff);
        ArgumentNullException.ThrowIfNull(dWs);
        int numWs = Config.NumWs, wDim = Config.WDim, cutoff = truncationCutoff ?? numWs;
        if (dWs.Length != batch * numWs * wDim)
            throw new ArgumentException($"dWs holds {dWs.Length} values; expected [N, num_ws, w_dim] = [{batch}, {numWs}, {wDim}].", nameof(dWs));
        CheckFinite(dWs, "dWs");
        var dw = new float[batch * wDim];
        for (int s = 0; s < batch; s++)
            for (int l = 0; l < numWs; l++)
            {
                float k = l < cutoff ? truncationPsi : 1f;
                for (int j = 0; j < wDim; j++) dw[s * wDim + j] += k * dWs[(s * numWs + l) * wDim + j];
            }
        _mapping.Forward(z, c, batch, record: true, out var tape);
        using (tape) return _mapping.Backward(tape!, dw, parameters);
    }

    private float[] Broadcast(float[] w, int batch, float psi, int? cutoff)
    {
        int numWs = Config.NumWs, wDim = Config.WDim, truncated = cutoff ?? numWs;
        var wAvg = _mapping.WAvg;
        var ws = new float[batch * numWs * wDim];
        for (int s = 0; s < batch; s++)
            for (int l = 0; l < numWs; l++)
                for (int j = 0; j < wDim; j++)
                {
                    float v = w[s * wDim + j];
                    ws[(s * numWs + l) * wDim + j] = l < truncated && psi != 1f ? wAvg[j] + psi * (v - wAvg[j]) : v;
                }
        return ws;
    }

    /// <summary>One [N, w_dim] tensor per w index; a single w per sample is one tensor at every index.</summary>
    private Tensor[] UploadWs(float[] ws, int batch)
    {
        ArgumentNullException.ThrowIfNull(ws);
        int numWs = Config.NumWs, wDim = Config.WDim;
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"The batch must hold at least one sample, got {batch}.");
        CheckFinite(ws, "ws");
        if (ws.Length == batch * wDim)
        {
            var one = Backend.Upload(ws, new Shape(batch, wDim));
            return [.. Enumerable.Repeat(one, numWs)];
        }
        if (ws.Length != batch * numWs * wDim)
            throw new ArgumentException($"ws holds {ws.Length} values; expected [N, w_dim] = [{batch}, {wDim}] or [N, num_ws, w_dim] = [{batch}, {numWs}, {wDim}].", nameof(ws));
        var perLayer = new Tensor[numWs];
        var slice = new float[batch * wDim];
        for (int l = 0; l < numWs; l++)
        {
            for (int s = 0; s < batch; s++) Array.Copy(ws, (s * numWs + l) * wDim, slice, s * wDim, wDim);
            perLayer[l] = Backend.Upload(slice, new Shape(batch, wDim));
        }
        return perLayer;
    }

    private void CheckMappingInputs(float[] z, int batch, float[]? c, float psi, int? cutoff)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"The batch must hold at least one sample, got {batch}.");
        if (z.Length != batch * Config.ZDim)
            throw new ArgumentException($"z holds {z.Length} values; expected [N, z_dim] = [{batch}, {Config.ZDim}].", nameof(z));
        CheckFinite(z, "z");
        if (Config.CDim > 0 && (c is null || c.Length != batch * Config.CDim))
            throw new ArgumentException($"This generator is conditional: c must be [N, c_dim] = [{batch}, {Config.CDim}], got {(c is null ? "none" : c.Length + " values")}.", nameof(c));
        if (Config.CDim == 0 && c is not null && c.Length > 0)
            throw new ArgumentException("This generator is unconditional (c_dim 0): pass no class vector.", nameof(c));
        if (c is not null) CheckFinite(c, "c");
        if (!float.IsFinite(psi)) throw new ArgumentException($"The truncation psi must be finite, got {psi}.", nameof(psi));
        if (cutoff is { } k && (k < 0 || k > Config.NumWs))
            throw new ArgumentOutOfRangeException(nameof(cutoff), $"The truncation cutoff must be between 0 and num_ws ({Config.NumWs}), got {k}.");
    }

    private static void CheckFinite(float[] a, string name)
    {
        int bad = Array.FindIndex(a, v => !float.IsFinite(v));
        if (bad >= 0) throw new ArgumentException($"{name} holds a non-finite value ({a[bad]}) at element {bad}.", name);
    }
}
