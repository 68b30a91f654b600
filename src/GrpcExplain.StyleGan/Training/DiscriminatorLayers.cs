using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan.Training;

/// <summary>
/// A <see cref="TensorTape"/> that also lists every activation the pass computed, in order, with the
/// bias_act that produced it (R1 compares activation patterns between passes).
/// </summary>
internal sealed class Tape : TensorTape
{
    public List<(Tensor Y, BiasActivateParams Act)> Activations { get; } = [];
}

/// <summary>
/// Conv2dLayer: y = bias_act(conv2d_resample(x, W·(1/√(in·k·k))), b, act, gain·act_gain, clamp·gain).
/// With down = 2, conv2d_resample's fast paths: a 1x1 kernel downsamples first (FIR, pad 1, down 2) and
/// convolves after; a 3x3 kernel is filtered with pad 2 and convolved with stride 2 (H → H/2 both ways).
/// A linear layer without bias and clamp (the skip) folds its gain into the weight gain: no bias_act pass.
/// </summary>
internal sealed class Conv2dLayer
{
    private readonly Backend _b;
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly Conv2dParams _conv;
    private readonly Upfirdn2dParams? _fir;
    private readonly BiasActivateParams? _act;

    public Conv2dLayer(Backend backend, Func<string, Tensor> parameter, string name, int inChannels, int kernel,
        bool bias, bool lrelu, int down = 1, float gain = 1f, float? convClamp = null)
    {
        _b = backend;
        Name = name;
        _weight = parameter($"{name}.weight");
        _bias = bias ? parameter($"{name}.bias") : null;
        float weightGain = 1f / MathF.Sqrt(inChannels * kernel * kernel);
        float actGain = (lrelu ? MathF.Sqrt(2) : 1f) * gain;
        float clamp = convClamp is { } c ? c * gain : -1f;
        if (bias || lrelu || clamp > 0) _act = new BiasActivateParams(lrelu ? 0.2f : 1f, actGain, clamp);
        else weightGain *= actGain;
        int padding = kernel / 2;
        if (down == 1) _conv = new Conv2dParams(1, padding, weightGain);
        else if (kernel == 1)
        {
            _fir = new Upfirdn2dParams(Down: down, PadX0: padding + 1, PadX1: padding + 1, PadY0: padding + 1, PadY1: padding + 1);
            _conv = new Conv2dParams(1, 0, weightGain);
        }
        else
        {
            _fir = new Upfirdn2dParams(PadX0: padding + 1, PadX1: padding + 1, PadY0: padding + 1, PadY1: padding + 1);
            _conv = new Conv2dParams(down, 0, weightGain);
        }
    }

    public string Name { get; }

    /// <summary>What backward reads: the layer's input, the convolution's input (the filtered x when down), the output.</summary>
    public sealed record Saved(Tensor X, Tensor ConvInput, Tensor Y);

    public Saved Forward(Tensor x, Tape tape)
    {
        var t = x;
        if (_fir is not null)
        {
            t = tape.Keep(_b.Allocate(_fir.OutputShape(x.Shape)));
            _b.Upfirdn2dForward(x, t, _fir);
        }
        int k = _weight.Shape[2];
        var y = tape.Keep(_b.Allocate(x.Shape[0], _weight.Shape[0], _conv.OutSize(t.Shape[2], k), _conv.OutSize(t.Shape[3], k)));
        _b.Conv2dForward(t, _weight, y, _conv);
        if (_act is not null)
        {
            _b.BiasActivateForward(y, _bias, null, null, y, _act);
            tape.Activations.Add((y, _act));
        }
        return new Saved(x, t, y);
    }

    /// <summary>
    /// dL/dx (null unless <paramref name="needDx"/>); parameter gradients into <paramref name="sink"/>.
    /// With <paramref name="tangentConvInput"/> (from <see cref="Tangent"/>), the weight's gradient is
    /// taken against the tangent instead of the recorded input, and the bias (absent from the tangent) gets none.
    /// </summary>
    public Tensor? Backward(Saved s, Tensor dy, GradientSink? sink, bool needDx, Tensor? tangentConvInput = null)
    {
        using var dPre = _act is null ? null : _b.Allocate(dy.Shape);
        if (_act is not null)
            _b.BiasActivateBackward(s.Y, dy, null, null, dPre, _bias is null || tangentConvInput is not null ? null : sink?.For($"{Name}.bias", _bias.Shape), null, null, _act);
        var dConvOut = dPre ?? dy;
        var dWeight = sink?.For($"{Name}.weight", _weight.Shape);
        var dConvIn = needDx ? _b.Allocate(s.ConvInput.Shape) : null;
        if (dConvIn is not null || dWeight is not null) _b.Conv2dBackward(tangentConvInput ?? s.ConvInput, _weight, dConvOut, dConvIn, dWeight, _conv);
        if (_fir is null || dConvIn is null) return dConvIn;
        var dx = _b.Allocate(s.X.Shape);
        _b.Upfirdn2dBackward(dConvIn, dx, _fir);
        dConvIn.Dispose();
        return dx;
    }

    /// <summary>
    /// The derivative of the recorded forward along t, its activation pattern frozen (as autograd
    /// differentiates a leaky ReLU: slope 1 or 0.2 by the recorded output's sign, 0 where clamped):
    /// conv2d_resample(t) without the bias, then the recorded slope and gain. Returns the convolution's
    /// tangent input (for the weight's gradient) and the tangent output.
    /// </summary>
    public (Tensor ConvInput, Tensor Out) Tangent(Saved s, Tensor t, Tape tape)
    {
        var tc = t;
        if (_fir is not null)
        {
            tc = tape.Keep(_b.Allocate(s.ConvInput.Shape));
            _b.Upfirdn2dForward(t, tc, _fir);
        }
        var pre = tape.Keep(_b.Allocate(s.Y.Shape));
        _b.Conv2dForward(tc, _weight, pre, _conv);
        if (_act is null) return (tc, pre);
        // bias_act's backward is this linear map: gain · slope(recorded y) · dy, 0 where y was clamped.
        var output = tape.Keep(_b.Allocate(s.Y.Shape));
        _b.BiasActivateBackward(s.Y, pre, null, null, output, null, null, null, _act);
        return (tc, output);
    }
}

/// <summary>FullyConnectedLayer (lr_multiplier 1): y = act(x·(W/√in)ᵀ + b), act = lrelu with gain √2 or linear.</summary>
internal sealed class FullyConnectedLayer(Backend backend, Func<string, Tensor> parameter, string name, bool lrelu)
{
    private readonly Tensor _weight = parameter($"{name}.weight"), _bias = parameter($"{name}.bias");
    private readonly FullyConnectedParams _p = new(LrMul: 1f, LeakyRelu: lrelu);
    private static readonly BiasActivateParams LeakyRelu = BiasActivateParams.LeakyRelu();

    public string Name { get; } = name;

    public (Tensor X, Tensor Y) Forward(Tensor x, Tape tape)
    {
        var y = tape.Keep(backend.Allocate(x.Shape[0], _weight.Shape[0]));
        backend.FullyConnectedForward(x, _weight, _bias, y, _p);
        if (_p.LeakyRelu) tape.Activations.Add((y, LeakyRelu));
        return (x, y);
    }

    /// <summary>dL/dx; with <paramref name="tangentInput"/>, the weight's gradient against the tangent and none for the bias.</summary>
    public Tensor Backward((Tensor X, Tensor Y) s, Tensor dy, GradientSink? sink, Tensor? tangentInput = null)
    {
        var dx = backend.Allocate(s.X.Shape);
        backend.FullyConnectedBackward(tangentInput ?? s.X, _weight, s.Y, dy, dx, sink?.For($"{Name}.weight", _weight.Shape),
            tangentInput is null ? sink?.For($"{Name}.bias", _bias.Shape) : null, _p);
        return dx;
    }

    /// <summary>The derivative along t with the recorded pattern: t·(W/√in)ᵀ, then the recorded slope and gain (on the host: N·out floats).</summary>
    public Tensor Tangent((Tensor X, Tensor Y) s, Tensor t, Tape tape)
    {
        using var pre = backend.Allocate(s.Y.Shape);
        backend.FullyConnectedForward(t, _weight, null, pre, new FullyConnectedParams(_p.LrMul));
        if (!_p.LeakyRelu) return tape.Keep(backend.Upload(backend.Download(pre), s.Y.Shape));
        float[] tp = backend.Download(pre), y = backend.Download(s.Y);
        for (int i = 0; i < tp.Length; i++) tp[i] *= MathF.Sqrt(2) * (y[i] > 0 ? 1f : 0.2f);
        return tape.Keep(backend.Upload(tp, s.Y.Shape));
    }
}
