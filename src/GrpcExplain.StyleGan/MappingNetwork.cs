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
    /// <summary>The mapping layers' learning-rate multiplier (NVIDIA's mapping_kwargs lr_multiplier).</summary>
    public const float LrMul = 0.01f;

    private static readonly FullyConnectedParams Layer = new(LrMul: LrMul, LeakyRelu: true);
    private static readonly FullyConnectedParams Embedding = new();

    private readonly GeneratorConfig _config;
    private readonly (Tensor Weight, Tensor Bias)[] _layers;
    private readonly (Tensor Weight, Tensor Bias)? _embed;

    public MappingNetwork(Backend backend, GeneratorWeights weights) : base(backend)
    {
        _config = weights.Config;
        _layers = [.. Enumerable.Range(0, _config.MappingLayers).Select(l => (Upload(weights, $"mapping.fc{l}.weight"), Upload(weights, $"mapping.fc{l}.bias")))];
        if (_config.CDim > 0) _embed = (Upload(weights, "mapping.embed.weight"), Upload(weights, "mapping.embed.bias"));
        KeepOnHost(weights, "mapping.w_avg");
    }

    /// <summary>The moving average of w that truncation pulls towards (a buffer: training updates it, not its gradient).</summary>
    public float[] WAvg => Host("mapping.w_avg");

    /// <summary>What backward needs: every layer's input and output, z, and the class input with its embedding.</summary>
    public sealed class Tape(List<Tensor> activations, Tensor? z, Tensor? c, Tensor? embedding, int batch) : IDisposable
    {
        public List<Tensor> Activations { get; } = activations;
        public Tensor? Z { get; } = z;
        public Tensor? C { get; } = c;
        public Tensor? Embedding { get; } = embedding;
        public int Batch { get; } = batch;

        public void Dispose()
        {
            foreach (var t in Activations) t.Dispose();
            Z?.Dispose();
            C?.Dispose();
            Embedding?.Dispose();
        }
    }

    /// <summary>z [N, z_dim], c [N, c_dim] → w [N, w_dim]; with a tape when the gradient will be asked for.</summary>
    public float[] Forward(float[] z, float[]? c, int n, bool record, out Tape? tape)
    {
        var acts = new List<Tensor>();
        Tensor? zt = null, ct = null, emb = null;
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
            ct = B.Upload(c!, new Shape(n, _config.CDim));
            emb = B.Allocate(n, _config.EmbedFeatures);
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
        tape = new Tape(acts, zt, ct, emb, n);
        if (record) return result;
        tape.Dispose();
        tape = null;
        return result;
    }

    /// <summary>
    /// dL/dz from dL/dw [N, w_dim] (the class input is discrete: no gradient); with
    /// <paramref name="parameters"/>, also dL/d(every mapping parameter) into it, by name.
    /// </summary>
    public float[] Backward(Tape tape, float[] dw, Dictionary<string, float[]>? parameters = null)
    {
        int n = tape.Batch;
        var dy = B.Upload(dw, new Shape(n, _config.WDim));
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            var (w, b) = _layers[l];
            var dx = B.Allocate(tape.Activations[l].Shape);
            FullyConnectedBackward(tape.Activations[l], w, b, tape.Activations[l + 1], dy, dx, $"mapping.fc{l}", Layer, parameters);
            dy.Dispose();
            dy = dx;
        }
        using (dy)
        {
            // The first layer's input is [normalize_2nd_moment(z), normalize_2nd_moment(embed(c))].
            var dIn = B.Download(dy);
            if (parameters is not null && _embed is { } e)
            {
                using var dEmbN = Slice(dIn, n, _config.ZDim, _config.EmbedFeatures);
                using var dEmb = B.Allocate(n, _config.EmbedFeatures);
                B.Normalize2ndMomentBackward(tape.Embedding!, dEmbN, dEmb);
                FullyConnectedBackward(tape.C!, e.Weight, e.Bias, tape.Embedding!, dEmb, null, "mapping.embed", Embedding, parameters);
            }
            if (_config.ZDim == 0) return [];
            using var dzn = Slice(dIn, n, 0, _config.ZDim);
            using var dz = B.Allocate(n, _config.ZDim);
            B.Normalize2ndMomentBackward(tape.Z!, dzn, dz);
            return B.Download(dz);
        }
    }

    /// <summary>One fully connected layer backwards; its weight and bias gradients only when <paramref name="parameters"/> collects them.</summary>
    private void FullyConnectedBackward(Tensor x, Tensor w, Tensor b, Tensor y, Tensor dy, Tensor? dx, string name, FullyConnectedParams p,
        Dictionary<string, float[]>? parameters)
    {
        using var dW = parameters is null ? null : B.Allocate(w.Shape);
        using var dB = parameters is null ? null : B.Allocate(b.Shape);
        B.FullyConnectedBackward(x, w, y, dy, dx, dW, dB, p);
        if (parameters is null) return;
        parameters[$"{name}.weight"] = B.Download(dW!);
        parameters[$"{name}.bias"] = B.Download(dB!);
    }

    /// <summary>Columns [from, from + width) of a host [N, features] matrix, uploaded as [N, width].</summary>
    private Tensor Slice(float[] rows, int n, int from, int width)
    {
        int features = rows.Length / n;
        var part = new float[n * width];
        for (int i = 0; i < n; i++) Array.Copy(rows, i * features + from, part, i * width, width);
        return B.Upload(part, new Shape(n, width));
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
