using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan;

/// <summary>
/// z (and c) → w: normalize_2nd_moment of z, the class embedding normalised and concatenated after
/// it, mapping_layers fully connected layers with lr_mul 0.01 and leaky ReLU (MappingNetwork).
/// Broadcasting to num_ws and truncation are the generator's (host-side, a few floats).
/// </summary>
internal sealed class MappingNetwork : Network
{
    private static readonly FullyConnectedParams Layer = new(LrMul: 0.01f, LeakyRelu: true);
    private static readonly FullyConnectedParams Embedding = new();

    private readonly GeneratorConfig _config;
    private readonly (Tensor Weight, Tensor Bias)[] _layers;
    private readonly (Tensor Weight, Tensor Bias)? _embed;

    public MappingNetwork(Backend backend, GeneratorWeights weights) : base(backend)
    {
        _config = weights.Config;
        _layers = [.. Enumerable.Range(0, _config.MappingLayers).Select(l => (Upload(weights, $"mapping.fc{l}.weight"), Upload(weights, $"mapping.fc{l}.bias")))];
        if (_config.CDim > 0) _embed = (Upload(weights, "mapping.embed.weight"), Upload(weights, "mapping.embed.bias"));
        WAvg = weights["mapping.w_avg"].Data;
    }

    public float[] WAvg { get; }

    /// <summary>What backward needs: every layer's input and output.</summary>
    public sealed class Tape(List<Tensor> activations, Tensor? z, int batch) : IDisposable
    {
        public List<Tensor> Activations { get; } = activations;
        public Tensor? Z { get; } = z;
        public int Batch { get; } = batch;

        public void Dispose()
        {
            foreach (var t in Activations) t.Dispose();
            Z?.Dispose();
        }
    }

    /// <summary>z [N, z_dim], c [N, c_dim] → w [N, w_dim]; with a tape when the gradient will be asked for.</summary>
    public float[] Forward(float[] z, float[]? c, int n, bool record, out Tape? tape)
    {
        var acts = new List<Tensor>();
        Tensor? zt = null;
        var parts = new List<float[]>();
        if (_config.ZDim > 0)
        {
            zt = B.Upload(z, new Shape(n, _config.ZDim));
            using var zn = B.Allocate(n, _config.ZDim);
            B.Normalize2ndMomentForward(zt, zn);
            parts.Add(B.Download(zn));
        }
        if (_embed is { } e)
        {
            using var ct = B.Upload(c!, new Shape(n, _config.CDim));
            using var emb = B.Allocate(n, _config.EmbedFeatures);
            using var embN = B.Allocate(n, _config.EmbedFeatures);
            B.FullyConnectedForward(ct, e.Weight, e.Bias, emb, Embedding);
            B.Normalize2ndMomentForward(emb, embN);
            parts.Add(B.Download(embN));
        }
        var x = B.Upload(Concat(parts, n), new Shape(n, _config.ZDim + _config.EmbedFeatures));
        acts.Add(x);
        foreach (var (w, b) in _layers)
        {
            var y = B.Allocate(n, _config.WDim);
            B.FullyConnectedForward(acts[^1], w, b, y, Layer);
            acts.Add(y);
        }
        var result = B.Download(acts[^1]);
        if (record)
        {
            tape = new Tape(acts, zt, n);
            return result;
        }
        foreach (var t in acts) t.Dispose();
        zt?.Dispose();
        tape = null;
        return result;
    }

    /// <summary>dL/dz from dL/dw [N, w_dim] (the class input is discrete: no gradient).</summary>
    public float[] Backward(Tape tape, float[] dw)
    {
        int n = tape.Batch;
        var dy = B.Upload(dw, new Shape(n, _config.WDim));
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            var (w, b) = _layers[l];
            var dx = B.Allocate(tape.Activations[l].Shape);
            B.FullyConnectedBackward(tape.Activations[l], w, tape.Activations[l + 1], dy, dx, null, null, Layer);
            dy.Dispose();
            dy = dx;
        }
        using (dy)
        {
            if (_config.ZDim == 0) return [];
            // The first z_dim features of the first layer's input are normalize_2nd_moment(z).
            var dIn = B.Download(dy);
            int width = _config.ZDim + _config.EmbedFeatures;
            var dzn = new float[n * _config.ZDim];
            for (int i = 0; i < n; i++) Array.Copy(dIn, i * width, dzn, i * _config.ZDim, _config.ZDim);
            using var g = B.Upload(dzn, new Shape(n, _config.ZDim));
            using var dz = B.Allocate(n, _config.ZDim);
            B.Normalize2ndMomentBackward(tape.Z!, g, dz);
            return B.Download(dz);
        }
    }

    private static float[] Concat(List<float[]> parts, int n)
    {
        int width = parts.Sum(p => p.Length / n);
        var x = new float[n * width];
        for (int i = 0; i < n; i++)
        {
            int at = i * width;
            foreach (var p in parts)
            {
                int w = p.Length / n;
                Array.Copy(p, i * w, x, at, w);
                at += w;
            }
        }
        return x;
    }
}
