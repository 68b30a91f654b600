using GrpcExplain.Kernels;
using GrpcExplain.Kernels.Networks;

namespace GrpcExplain.StyleGan.Encoding;

/// <summary>
/// One-pass inversion: images [N, C, res, res] in [-1, 1] → w [N, w_dim] of the generator the encoder
/// was trained for (<see cref="EncoderConfig"/>), in one forward pass of a small CNN on our kernels.
/// Its w is a warm start for projection, which then needs far fewer steps than from the mean w.
/// Not thread-safe.
/// </summary>
public sealed class Encoder : IDisposable
{
    private readonly ConvNet _net;
    private readonly float[] _wAvg;

    public Encoder(Backend backend, EncoderWeights weights)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        Config = weights.Config;
        _wAvg = [.. weights.Tensors["w_avg"].Data];
        _net = new ConvNet(backend, Config.Architecture, weights.Tensors);
    }

    public EncoderConfig Config { get; }

    public Backend Backend => _net.Backend;

    /// <summary>
    /// Loads the encoder at <paramref name="path"/> for <paramref name="generator"/>, on the generator's
    /// backend. An encoder trained for another generator (another content hash), or for other images or
    /// another w_dim, is refused with an <see cref="InvalidDataException"/> that says so.
    /// </summary>
    public static Encoder LoadFor(string path, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var weights = EncoderWeights.Load(path);
        if (Mismatch(weights.Config, generator) is { } problem) throw new InvalidDataException($"{path}: {problem}");
        return new Encoder(generator.Backend, weights);
    }

    /// <summary>
    /// The encoder beside <paramref name="generatorWeightsPath"/> (<see cref="EncoderWeights.FileName"/>)
    /// when there is one that belongs to <paramref name="generator"/>: null with no reason when there is
    /// none, null with the reason when there is one that cannot be used (the caller says so and projects
    /// from the mean w).
    /// </summary>
    public static Encoder? TryLoadBeside(string generatorWeightsPath, Generator generator, out string? refusal) =>
        TryLoad(EncoderWeights.PathBeside(generatorWeightsPath), generator, out refusal);

    /// <summary>As <see cref="TryLoadBeside"/>, for an encoder file named directly.</summary>
    public static Encoder? TryLoad(string path, Generator generator, out string? refusal)
    {
        refusal = null;
        if (!File.Exists(path)) return null;
        try
        {
            return LoadFor(path, generator);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            refusal = e.Message;
            return null;
        }
    }

    /// <summary>Why <paramref name="config"/> cannot encode for <paramref name="generator"/>, or null when it can.</summary>
    public static string? Mismatch(EncoderConfig config, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(generator);
        var g = generator.Config;
        string hash = generator.Weights.ContentHash;
        if (config.GeneratorSha256 != hash)
            return $"the encoder was trained for generator {Short(config.GeneratorSha256)}, not for this one ({Short(hash)}); " +
                "retrain it for these weights (grpcexplain train encoder) — projection starts from the mean w meanwhile.";
        if (config.ImgResolution != g.ImgResolution || config.ImgChannels != g.ImgChannels || config.WDim != g.WDim)
            return $"the encoder takes {config.ImgChannels}x{config.ImgResolution}x{config.ImgResolution} images to w_dim {config.WDim}; " +
                $"the generator makes {g.ImgChannels}x{g.ImgResolution}x{g.ImgResolution} from w_dim {g.WDim}.";
        return null;
    }

    /// <summary>w [N, w_dim] for images [N, C, res, res] in [-1, 1].</summary>
    public float[] Encode(float[] images, int n)
    {
        using var pass = Record(images, n);
        return ToW(pass.Outputs, n);
    }

    /// <summary>A recorded pass (for training): its outputs are (w − w_avg) / w_scale, [N, w_dim].</summary>
    public ConvNetPass Record(float[] images, int n)
    {
        ArgumentNullException.ThrowIfNull(images);
        int length = Config.ImgChannels * Config.ImgResolution * Config.ImgResolution;
        if (n < 1 || images.Length != n * length)
            throw new ArgumentException($"Expected {n} images of {Config.ImgChannels}x{Config.ImgResolution}x{Config.ImgResolution} ({n * length} values), got {images.Length}.", nameof(images));
        int bad = Array.FindIndex(images, v => !float.IsFinite(v));
        if (bad >= 0) throw new ArgumentException($"Image {bad / length} holds a non-finite value (element {bad % length}).", nameof(images));
        return _net.Record(images, n);
    }

    /// <summary>The network's target for w [N, w_dim]: (w − w_avg) / w_scale.</summary>
    public float[] ToOutputs(float[] w, int n) => Affine(w, n, toW: false);

    /// <summary>w for the network's outputs [N, w_dim]: w_avg + w_scale · output.</summary>
    public float[] ToW(float[] outputs, int n) => Affine(outputs, n, toW: true);

    public EncoderWeights ToWeights()
    {
        var tensors = _net.DownloadParameters();
        tensors["w_avg"] = new HostTensor([Config.WDim], [.. _wAvg]);
        return EncoderWeights.FromTensors(Config, tensors);
    }

    /// <summary>Overwrites the named network parameters (an optimiser step's result).</summary>
    public void SetParameters(IReadOnlyDictionary<string, float[]> values) => _net.SetParameters(values);

    public void Dispose() => _net.Dispose();

    private float[] Affine(float[] x, int n, bool toW)
    {
        ArgumentNullException.ThrowIfNull(x);
        int d = Config.WDim;
        if (x.Length != n * d) throw new ArgumentException($"Expected [N, w_dim] = [{n}, {d}] ({n * d} values), got {x.Length}.", nameof(x));
        var y = new float[x.Length];
        float s = Config.WScale;
        for (int i = 0; i < x.Length; i++)
            y[i] = toW ? _wAvg[i % d] + s * x[i] : (x[i] - _wAvg[i % d]) / s;
        return y;
    }

    private static string Short(string hash) => hash.Length > 16 ? hash[..16] : hash;
}
