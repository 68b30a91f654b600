using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan.Training;

/// <summary>dL/dθ by parameter name (null when not asked for) and dL/d(images) [N, C, H, W] (null when not asked for).</summary>
public sealed record DiscriminatorGradients(IReadOnlyDictionary<string, float[]>? Parameters, float[]? Images);

/// <summary>
/// The StyleGAN2 discriminator in the 'resnet' architecture (stylegan2-ada-pytorch's Discriminator,
/// c_dim 0): one DiscriminatorBlock per resolution from the image's down to 8 (FromRGB at the top
/// block only; conv0, conv1 with 2x FIR downsampling, and a 1x1 downsampling skip, the residual sum
/// scaled by √0.5), then the epilogue at 4x4 (minibatch standard deviation, conv, fc, out) giving
/// one logit per image. Layer by layer on the kernel backend; every pass can be recorded and run
/// backwards to the parameters and to the images (R1 and the generator's loss need the latter).
/// </summary>
public sealed class Discriminator : IDisposable
{
    private readonly Dictionary<string, Tensor> _parameters = [];
    private readonly List<DiscriminatorBlock> _blocks = [];
    private readonly DiscriminatorEpilogue _b4;

    /// <summary>Uploads every parameter to the backend once; the discriminator owns those tensors.</summary>
    public Discriminator(Backend backend, DiscriminatorWeights weights)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        Backend = backend;
        Config = weights.Config;
        foreach (var (name, shape) in Config.ParameterShapes()) _parameters[name] = backend.Upload(weights[name].Data, new Shape(shape));
        Tensor P(string name) => _parameters[name];
        foreach (int res in Config.BlockResolutions)
            _blocks.Add(new DiscriminatorBlock(backend, P, res, inChannels: res < Config.ImgResolution ? Config.Channels(res) : 0,
                tmpChannels: Config.Channels(res), Config.ImgChannels, Config.ConvClamp));
        _b4 = new DiscriminatorEpilogue(backend, P, Config.Channels(4), Config.MbstdGroupSize, Config.MbstdNumChannels, Config.ConvClamp);
    }

    public Backend Backend { get; }
    public DiscriminatorConfig Config { get; }

    /// <summary>images [N, img_channels, res, res] in [-1, 1] → logits [N].</summary>
    public float[] Forward(float[] images, int n)
    {
        using var pass = Record(images, n);
        return pass.Logits;
    }

    /// <summary>A forward pass that keeps what <see cref="DiscriminatorPass.Backward"/> needs.</summary>
    public DiscriminatorPass Record(float[] images, int n)
    {
        ArgumentNullException.ThrowIfNull(images);
        var shape = new Shape(n, Config.ImgChannels, Config.ImgResolution, Config.ImgResolution);
        if (n < 1 || images.Length != shape.Length)
            throw new ArgumentException($"Expected {shape.Length} values for {n} images of {Config.ImgChannels}x{Config.ImgResolution}x{Config.ImgResolution}, got {images.Length}.", nameof(images));
        MinibatchStdLayer.GroupSize(Config.MbstdGroupSize, n);
        var tape = new Tape();
        try
        {
            var img = tape.Keep(Backend.Upload(images, shape));
            Tensor? x = null;
            var saved = new List<DiscriminatorBlock.Saved>();
            foreach (var block in _blocks)
            {
                var s = block.Forward(x, img, tape);
                saved.Add(s);
                x = s.Out;
            }
            var epilogue = _b4.Forward(x!, tape);
            return new DiscriminatorPass(this, tape, img, saved, epilogue, n);
        }
        catch
        {
            tape.Dispose();
            throw;
        }
    }

    internal (Dictionary<string, float[]>? Parameters, float[]? Images) Backward(List<DiscriminatorBlock.Saved> saved, DiscriminatorEpilogue.Saved epilogue,
        float[] dLogits, bool parameters, bool images)
    {
        using var sink = parameters ? new GradientSink(Backend) : null;
        var dx = _b4.Backward(epilogue, dLogits, sink);
        for (int i = _blocks.Count - 1; i >= 0; i--)
        {
            var dIn = _blocks[i].Backward(saved[i], dx, sink, needDx: i > 0 || images);
            dx.Dispose();
            dx = dIn!;
        }
        using (dx)
            return (sink?.Tensors.ToDictionary(p => p.Key, p => Backend.Download(p.Value)), images ? Backend.Download(dx) : null);
    }

    /// <summary>
    /// g = ∇ₓ Σₙ D(xₙ) and the exact ∇θ ½‖g‖², as double backward computes it (leaky ReLU's second
    /// derivative 0): forward-over-reverse. ½‖g‖² = J(θ) = g·∇ₓS with g held fixed, the derivative of
    /// S along g, which a tangent pass computes with the recorded activation pattern; its gradient is a
    /// backward pass whose weight gradients correlate the ordinary backward signal with the tangents
    /// instead of the activations, plus, because mbstd is not linear, the ordinary backward from its
    /// curvature term into the blocks below it.
    /// </summary>
    internal (float[] G, Dictionary<string, float[]> Gradient) R1Exact(float[] images, int n)
    {
        var ones = Enumerable.Repeat(1f, n).ToArray();
        using var pass = Record(images, n);
        var g = pass.Backward(ones, parameters: false, images: true).Images!;
        using var tape = new Tape();
        var (saved, epilogue) = (pass.Saved, pass.Epilogue);
        var tImg = tape.Keep(Backend.Upload(g, new Shape(n, Config.ImgChannels, Config.ImgResolution, Config.ImgResolution)));
        Tensor? t = null;
        var tangents = new List<DiscriminatorBlock.TangentSaved>();
        for (int i = 0; i < _blocks.Count; i++)
        {
            tangents.Add(_blocks[i].Tangent(saved[i], t, tImg, tape));
            t = tangents[^1].Out;
        }
        var tEpilogue = _b4.Tangent(epilogue, t!, tape);

        using var viaTangent = new GradientSink(Backend);
        using var viaCurvature = new GradientSink(Backend);
        var (delta, curvature) = _b4.TangentBackward(epilogue, tEpilogue, ones, viaTangent);
        for (int i = _blocks.Count - 1; i >= 0; i--)
        {
            var dIn = _blocks[i].Backward(saved[i], delta, viaTangent, needDx: i > 0, tangents[i]);
            delta.Dispose();
            delta = dIn!;
            if (curvature is null) continue;
            var cIn = _blocks[i].Backward(saved[i], curvature, viaCurvature, needDx: i > 0);
            curvature.Dispose();
            curvature = cIn;
        }
        delta?.Dispose();
        curvature?.Dispose();

        var gradient = new Dictionary<string, float[]>();
        foreach (var (name, shape) in Config.ParameterShapes())
        {
            var sum = new float[HostTensor.Count(shape)];
            foreach (var sink in new[] { viaTangent, viaCurvature })
                if (sink.Tensors.TryGetValue(name, out var part))
                {
                    var h = Backend.Download(part);
                    for (int j = 0; j < sum.Length; j++) sum[j] += h[j];
                }
            gradient[name] = sum;
        }
        return (g, gradient);
    }

    /// <summary>The current parameters (after optimiser steps), to save or to hand to another backend.</summary>
    public DiscriminatorWeights ToWeights() =>
        DiscriminatorWeights.FromTensors(Config, Config.ParameterShapes().ToDictionary(p => p.Name, p => new HostTensor(p.Shape, Backend.Download(_parameters[p.Name]))));

    /// <summary>Overwrites the named parameters (an optimiser step's result); names and sizes are checked.</summary>
    public void SetParameters(IReadOnlyDictionary<string, float[]> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (name, v) in values)
        {
            if (!_parameters.TryGetValue(name, out var t)) throw new ArgumentException($"The discriminator has no parameter '{name}'.", nameof(values));
            Backend.Upload(v, t);
        }
    }

    public void Dispose()
    {
        foreach (var t in _parameters.Values) t.Dispose();
        _parameters.Clear();
    }
}

/// <summary>One recorded forward pass: the logits and the activations; dispose it to free them.</summary>
public sealed class DiscriminatorPass : IDisposable
{
    private readonly Discriminator _d;
    private readonly Tape _tape;
    private readonly List<DiscriminatorBlock.Saved> _saved;
    private readonly DiscriminatorEpilogue.Saved _epilogue;

    internal DiscriminatorPass(Discriminator d, Tape tape, Tensor images, List<DiscriminatorBlock.Saved> saved, DiscriminatorEpilogue.Saved epilogue, int batch)
    {
        (_d, _tape, _saved, _epilogue, Batch) = (d, tape, saved, epilogue, batch);
        Logits = d.Backend.Download(epilogue.Out.Y);
    }

    public int Batch { get; }

    /// <summary>D(x), one logit per image.</summary>
    public float[] Logits { get; }

    internal Tape Tape => _tape;
    internal List<DiscriminatorBlock.Saved> Saved => _saved;
    internal DiscriminatorEpilogue.Saved Epilogue => _epilogue;

    /// <summary>
    /// From dL/d(logits) [N]: the gradient of every parameter (by NVIDIA's name, unscaled as stored) and
    /// of the images, each only when asked for. Can be called more than once.
    /// </summary>
    public DiscriminatorGradients Backward(float[] dLogits, bool parameters = true, bool images = true)
    {
        ArgumentNullException.ThrowIfNull(dLogits);
        if (dLogits.Length != Batch) throw new ArgumentException($"dLogits holds {dLogits.Length} values for a batch of {Batch}.", nameof(dLogits));
        var (p, x) = _d.Backward(_saved, _epilogue, dLogits, parameters, images);
        return new DiscriminatorGradients(p, x);
    }

    public void Dispose() => _tape.Dispose();
}

/// <summary>DiscriminatorBlock ('resnet'): x = fromrgb(img) at the top block; out = skip(x, gain √0.5) + conv1(conv0(x), gain √0.5).</summary>
internal sealed class DiscriminatorBlock
{
    private static readonly float Half = MathF.Sqrt(0.5f);
    private readonly Backend _b;
    private readonly Conv2dLayer? _fromrgb;
    private readonly Conv2dLayer _conv0, _conv1, _skip;

    public DiscriminatorBlock(Backend backend, Func<string, Tensor> parameter, int resolution, int inChannels, int tmpChannels, int imgChannels, float? convClamp)
    {
        _b = backend;
        string b = $"b{resolution}";
        if (inChannels == 0) _fromrgb = new Conv2dLayer(backend, parameter, $"{b}.fromrgb", imgChannels, 1, bias: true, lrelu: true, convClamp: convClamp);
        _conv0 = new Conv2dLayer(backend, parameter, $"{b}.conv0", tmpChannels, 3, bias: true, lrelu: true, convClamp: convClamp);
        _conv1 = new Conv2dLayer(backend, parameter, $"{b}.conv1", tmpChannels, 3, bias: true, lrelu: true, down: 2, gain: Half, convClamp: convClamp);
        _skip = new Conv2dLayer(backend, parameter, $"{b}.skip", tmpChannels, 1, bias: false, lrelu: false, down: 2, gain: Half);
    }

    public sealed record Saved(Conv2dLayer.Saved? FromRgb, Conv2dLayer.Saved Conv0, Conv2dLayer.Saved Conv1, Conv2dLayer.Saved Skip, Tensor Out);

    public Saved Forward(Tensor? x, Tensor img, Tape tape)
    {
        var fromrgb = _fromrgb?.Forward(img, tape);
        x = fromrgb?.Y ?? x!;
        var skip = _skip.Forward(x, tape);
        var conv0 = _conv0.Forward(x, tape);
        var conv1 = _conv1.Forward(conv0.Y, tape);
        var output = tape.Keep(_b.Allocate(conv1.Y.Shape));
        _b.AddForward(skip.Y, conv1.Y, output);
        return new Saved(fromrgb, conv0, conv1, skip, output);
    }

    /// <summary>
    /// dL/d(block input): x's for inner blocks, the image's for the top block (null there unless
    /// <paramref name="needDx"/>). With <paramref name="tangent"/>, weight gradients against the tangent pass.
    /// </summary>
    public Tensor? Backward(Saved s, Tensor dOut, GradientSink? sink, bool needDx, TangentSaved? tangent = null)
    {
        bool needDxInner = needDx || _fromrgb is not null;
        var dx = _skip.Backward(s.Skip, dOut, sink, needDxInner, tangent?.Skip);
        using (var dh = _conv1.Backward(s.Conv1, dOut, sink, needDx: true, tangent?.Conv1)!)
        using (var dxConv = _conv0.Backward(s.Conv0, dh, sink, needDxInner, tangent?.Conv0))
            if (dx is not null) _b.AddForward(dx, dxConv!, dx);
        if (_fromrgb is null) return dx;
        using (dx) return _fromrgb.Backward(s.FromRgb!, dx!, sink, needDx, tangent?.FromRgb);
    }

    /// <summary>Each layer's tangent convolution input, and the block's tangent output.</summary>
    public sealed record TangentSaved(Tensor? FromRgb, Tensor Conv0, Tensor Conv1, Tensor Skip, Tensor Out);

    /// <summary>The block's derivative along t (along the image's tangent at the top block), with the recorded activation pattern.</summary>
    public TangentSaved Tangent(Saved s, Tensor? t, Tensor tImg, Tape tape)
    {
        var fromrgb = _fromrgb?.Tangent(s.FromRgb!, tImg, tape);
        t = fromrgb?.Out ?? t!;
        var skip = _skip.Tangent(s.Skip, t, tape);
        var conv0 = _conv0.Tangent(s.Conv0, t, tape);
        var conv1 = _conv1.Tangent(s.Conv1, conv0.Out, tape);
        var output = tape.Keep(_b.Allocate(s.Out.Shape));
        _b.AddForward(skip.Out, conv1.Out, output);
        return new TangentSaved(fromrgb?.ConvInput, conv0.ConvInput, conv1.ConvInput, skip.ConvInput, output);
    }
}

/// <summary>DiscriminatorEpilogue at 4x4: mbstd, conv (3x3), fc (C·16 → C, lrelu), out (C → 1).</summary>
internal sealed class DiscriminatorEpilogue
{
    private readonly Backend _b;
    private readonly int _channels, _mbstdGroupSize, _mbstdChannels;
    private readonly Conv2dLayer _conv;
    private readonly FullyConnectedLayer _fc, _out;

    public DiscriminatorEpilogue(Backend backend, Func<string, Tensor> parameter, int channels, int mbstdGroupSize, int mbstdChannels, float? convClamp)
    {
        (_b, _channels, _mbstdGroupSize, _mbstdChannels) = (backend, channels, mbstdGroupSize, mbstdChannels);
        _conv = new Conv2dLayer(backend, parameter, "b4.conv", channels + mbstdChannels, 3, bias: true, lrelu: true, convClamp: convClamp);
        _fc = new FullyConnectedLayer(backend, parameter, "b4.fc", lrelu: true);
        _out = new FullyConnectedLayer(backend, parameter, "b4.out", lrelu: false);
    }

    public sealed record Saved(Tensor X, float[] XHost, Conv2dLayer.Saved Conv, (Tensor X, Tensor Y) Fc, (Tensor X, Tensor Y) Out);

    public Saved Forward(Tensor x, Tape tape)
    {
        int n = x.Shape[0];
        var xHost = _b.Download(x);
        var xm = _mbstdChannels == 0 ? x
            : tape.Keep(_b.Upload(MinibatchStdLayer.Forward(xHost, x.Shape, _mbstdGroupSize, _mbstdChannels), new Shape(n, _channels + _mbstdChannels, 4, 4)));
        var conv = _conv.Forward(xm, tape);
        var flat = tape.Keep(Reshape(conv.Y, new Shape(n, _channels * 16)));
        var fc = _fc.Forward(flat, tape);
        var output = _out.Forward(fc.Y, tape);
        return new Saved(x, xHost, conv, fc, output);
    }

    /// <summary>dL/dx [N, C, 4, 4] from dL/d(logits).</summary>
    public Tensor Backward(Saved s, float[] dLogits, GradientSink? sink)
    {
        int n = s.X.Shape[0];
        using var dOut = _b.Upload(dLogits, new Shape(n, 1));
        using var dh = _out.Backward(s.Out, dOut, sink);
        using var dFlat = _fc.Backward(s.Fc, dh, sink);
        using var dConvOut = Reshape(dFlat, s.Conv.Y.Shape);
        var dxm = _conv.Backward(s.Conv, dConvOut, sink, needDx: true)!;
        if (_mbstdChannels == 0) return dxm;
        using (dxm)
            return _b.Upload(MinibatchStdLayer.Backward(s.XHost, s.X.Shape, _b.Download(dxm), _mbstdGroupSize, _mbstdChannels), s.X.Shape);
    }

    /// <summary>The tangents the weight gradients of the exact R1 read: mbstd's input (host), conv's, fc's and out's inputs.</summary>
    public sealed record TangentSaved(float[] XHost, Tensor Conv, Tensor Fc, Tensor Out);

    public TangentSaved Tangent(Saved s, Tensor t, Tape tape)
    {
        int n = s.X.Shape[0];
        var tHost = _b.Download(t);
        var tm = _mbstdChannels == 0 ? t
            : tape.Keep(_b.Upload(MinibatchStdLayer.Tangent(s.XHost, tHost, s.X.Shape, _mbstdGroupSize, _mbstdChannels), s.Conv.X.Shape));
        var conv = _conv.Tangent(s.Conv, tm, tape);
        var flat = tape.Keep(Reshape(conv.Out, new Shape(n, _channels * 16)));
        var fc = _fc.Tangent(s.Fc, flat, tape);
        return new TangentSaved(tHost, conv.ConvInput, flat, fc);
    }

    /// <summary>
    /// The exact R1 gradient's backward through the epilogue, dL/d(logits) = 1 as in the tangent pass:
    /// weight gradients against the tangents into <paramref name="sink"/>; returns the adjoint of the
    /// tangent at the epilogue's input (the ordinary backward signal, as the pattern is frozen) and the
    /// adjoint of the recorded input through mbstd's curvature (which the ordinary backward then carries down).
    /// </summary>
    public (Tensor Delta, Tensor? Curvature) TangentBackward(Saved s, TangentSaved t, float[] dLogits, GradientSink sink)
    {
        int n = s.X.Shape[0];
        using var dOut = _b.Upload(dLogits, new Shape(n, 1));
        using var dh = _out.Backward(s.Out, dOut, sink, t.Out);
        using var dFlat = _fc.Backward(s.Fc, dh, sink, t.Fc);
        using var dConvOut = Reshape(dFlat, s.Conv.Y.Shape);
        var dxm = _conv.Backward(s.Conv, dConvOut, sink, needDx: true, t.Conv)!;
        if (_mbstdChannels == 0) return (dxm, null);
        using (dxm)
        {
            var dm = _b.Download(dxm);
            return (_b.Upload(MinibatchStdLayer.Backward(s.XHost, s.X.Shape, dm, _mbstdGroupSize, _mbstdChannels), s.X.Shape),
                _b.Upload(MinibatchStdLayer.SecondOrder(s.XHost, t.XHost, dm, s.X.Shape, _mbstdGroupSize, _mbstdChannels), s.X.Shape));
        }
    }

    /// <summary>x.flatten(1) and back: the backend has no reshaping view, so a host copy of N·C·16 floats.</summary>
    private Tensor Reshape(Tensor t, Shape shape) => _b.Upload(_b.Download(t), shape);
}
