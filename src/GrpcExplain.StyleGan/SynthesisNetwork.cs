using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan;

/// <summary>
/// The 'skip' synthesis network (SynthesisNetwork of stylegan2-ada-pytorch): block 4 starts from the
/// learned constant; every block runs conv0 (2x up, except block 4), conv1 and ToRGB, and adds its
/// ToRGB output to the upsampled image of the block before. Layer by layer on the kernel backend.
/// </summary>
internal sealed partial class SynthesisNetwork : Network
{
    private const string ConstName = "synthesis.b4.const";

    private readonly GeneratorConfig _config;
    private readonly List<Layer> _layers = [];

    /// <summary>
    /// One synthesis layer. WIndex is the w it reads: conv layers take consecutive ws, a block's ToRGB
    /// shares the w of the next block's conv0 (num_ws = 2·log2(res) − 2).
    /// </summary>
    internal sealed record Layer(string Name, int Resolution, int InChannels, int OutChannels, bool IsToRgb, bool Up, int WIndex,
        Tensor AffineWeight, Tensor AffineBias, Tensor Weight, Tensor Bias, Tensor? NoiseConst, Tensor? NoiseStrength)
    {
        public ModulatedConv2dParams Conv => new(Demodulate: !IsToRgb, Up: Up);

        /// <summary>
        /// The affine layer (bias_init 1). ToRGB scales its styles by 1/√in_channels: as a learning-rate
        /// multiplier, which scales weight and bias alike, so the stored parameters and their gradients
        /// stay NVIDIA's.
        /// </summary>
        public FullyConnectedParams Affine { get; } = new(LrMul: IsToRgb ? 1f / MathF.Sqrt(InChannels) : 1f);
    }

    public SynthesisNetwork(Backend backend, GeneratorWeights weights) : base(backend)
    {
        _config = weights.Config;
        KeepOnHost(weights, ConstName);
        int wIndex = 0;
        foreach (int res in _config.BlockResolutions)
        {
            int outC = _config.Channels(res);
            if (res > 4) _layers.Add(Conv(weights, res, "conv0", _config.Channels(res / 2), outC, up: true, wIndex++));
            _layers.Add(Conv(weights, res, "conv1", outC, outC, up: false, wIndex++));
            _layers.Add(ToRgb(weights, res, outC, wIndex));
        }
    }

    public IReadOnlyList<Layer> Layers => _layers;

    public IReadOnlyList<NoiseLayer> NoiseLayers => field ??= [.. _layers.Where(l => !l.IsToRgb).Select(l => new NoiseLayer(l.Name, l.Resolution))];

    private Layer Conv(GeneratorWeights weights, int res, string conv, int inC, int outC, bool up, int wIndex)
    {
        string n = $"synthesis.b{res}.{conv}";
        return new Layer(n, res, inC, outC, IsToRgb: false, up, wIndex,
            Upload(weights, $"{n}.affine.weight"), Upload(weights, $"{n}.affine.bias"), Upload(weights, $"{n}.weight"), Upload(weights, $"{n}.bias"),
            Upload(weights, $"{n}.noise_const", new Shape(1, 1, res, res)), Upload(weights, $"{n}.noise_strength"));
    }

    private Layer ToRgb(GeneratorWeights weights, int res, int inC, int wIndex)
    {
        string n = $"synthesis.b{res}.torgb";
        return new Layer(n, res, inC, _config.ImgChannels, IsToRgb: true, Up: false, wIndex,
            Upload(weights, $"{n}.affine.weight"), Upload(weights, $"{n}.affine.bias"), Upload(weights, $"{n}.weight"), Upload(weights, $"{n}.bias"), null, null);
    }

    /// <summary>The epilogue after each modulated convolution: lrelu with gain √2 for convs, linear for ToRGB; clamp ±conv_clamp.</summary>
    private BiasActivateParams Epilogue(Layer layer)
    {
        float clamp = _config.ConvClamp ?? -1f;
        return layer.IsToRgb ? BiasActivateParams.Linear(clamp) : BiasActivateParams.LeakyRelu(clamp);
    }

    /// <summary>The learned constant, repeated over the batch.</summary>
    private Tensor Constant(int n)
    {
        var c = Host(ConstName);
        var x = new float[n * c.Length];
        for (int i = 0; i < n; i++) c.CopyTo(x, i * c.Length);
        return B.Upload(x, new Shape(n, _config.Channels(4), 4, 4));
    }
}
