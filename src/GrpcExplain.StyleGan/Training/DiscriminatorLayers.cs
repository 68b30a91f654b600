using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan.Training;

/// <summary>
/// The tensors one recorded pass allocated (freed together) and every activation it computed, in
/// order, with the bias_act that produced it (R1 compares activation patterns between passes).
/// </summary>
internal sealed class Tape : IDisposable
{
    private readonly List<Tensor> _owned = [];
    public List<(Tensor Y, BiasActivateParams Act)> Activations { get; } = [];

    public Tensor Keep(Tensor t)
    {
        _owned.Add(t);
        return t;
    }

    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }
}

/// <summary>Where a backward pass writes parameter gradients (device tensors by parameter name); null when they are not wanted.</summary>
internal sealed class GradientSink(Backend backend) : IDisposable
{
    public Dictionary<string, Tensor> Tensors { get; } = [];

    public Tensor For(string name, Shape shape)
    {
        var t = backend.Allocate(shape);
        Tensors.Add(name, t);
        return t;
    }

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
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

    /// <summary>dL/dx (null unless <paramref name="needDx"/>); parameter gradients into <paramref name="sink"/>.</summary>
    public Tensor? Backward(Saved s, Tensor dy, GradientSink? sink, bool needDx)
    {
        using var dPre = _act is null ? null : _b.Allocate(dy.Shape);
        if (_act is not null)
            _b.BiasActivateBackward(s.Y, dy, null, null, dPre, _bias is null ? null : sink?.For($"{Name}.bias", _bias.Shape), null, null, _act);
        var dConvOut = dPre ?? dy;
        var dWeight = sink?.For($"{Name}.weight", _weight.Shape);
        var dConvIn = needDx ? _b.Allocate(s.ConvInput.Shape) : null;
        if (dConvIn is not null || dWeight is not null) _b.Conv2dBackward(s.ConvInput, _weight, dConvOut, dConvIn, dWeight, _conv);
        if (_fir is null || dConvIn is null) return dConvIn;
        var dx = _b.Allocate(s.X.Shape);
        _b.Upfirdn2dBackward(dConvIn, dx, _fir);
        dConvIn.Dispose();
        return dx;
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

    public Tensor Backward((Tensor X, Tensor Y) s, Tensor dy, GradientSink? sink)
    {
        var dx = backend.Allocate(s.X.Shape);
        backend.FullyConnectedBackward(s.X, _weight, s.Y, dy, dx, sink?.For($"{Name}.weight", _weight.Shape), sink?.For($"{Name}.bias", _bias.Shape), _p);
        return dx;
    }
}

/// <summary>
/// MinibatchStdLayer on the host (the backend has no op for it; at 4x4 it is a few thousand floats):
/// samples i = g·(N/G) + m form group m (NVIDIA's reshape(G, -1, F, c, H, W)); per group, feature
/// f and position, the standard deviation over the group's G samples (√(var + 1e-8)), averaged over
/// the c channels and H·W pixels of the feature, is appended as channel C + f of every sample in the group.
/// </summary>
internal static class MinibatchStdLayer
{
    public static int GroupSize(int groupSize, int n)
    {
        int g = Math.Min(groupSize, n);
        if (n % g != 0) throw new ArgumentException($"The minibatch standard deviation needs a batch divisible by its group size {g}; got a batch of {n}.", nameof(n));
        return g;
    }

    /// <summary>x [N, C, H, W] → [N, C + F, H, W].</summary>
    public static float[] Forward(float[] x, Shape shape, int groupSize, int features)
    {
        var (n, c, h, w) = shape.Nchw;
        var y = new float[n * (c + features) * h * w];
        for (int i = 0; i < n; i++) Array.Copy(x, i * c * h * w, y, i * (c + features) * h * w, c * h * w);
        var (std, _) = Statistics(x, shape, groupSize, features);
        int g = GroupSize(groupSize, n), groups = n / g;
        for (int i = 0; i < n; i++)
            for (int f = 0; f < features; f++)
                Array.Fill(y, (float)std[(i % groups) * features + f], (i * (c + features) + c + f) * h * w, h * w);
        return y;
    }

    /// <summary>dL/dx from dL/dy [N, C + F, H, W]: the first C channels pass through, the appended ones flow back through the standard deviation.</summary>
    public static float[] Backward(float[] x, Shape shape, float[] dy, int groupSize, int features)
    {
        var (n, c, h, w) = shape.Nchw;
        int g = GroupSize(groupSize, n), groups = n / g, cf = c / features, plane = h * w;
        var dx = new float[x.Length];
        for (int i = 0; i < n; i++) Array.Copy(dy, i * (c + features) * plane, dx, i * c * plane, c * plane);
        var (_, sd) = Statistics(x, shape, groupSize, features);
        var dStd = new double[groups * features];
        for (int i = 0; i < n; i++)
            for (int f = 0; f < features; f++)
                for (int p = 0; p < plane; p++) dStd[(i % groups) * features + f] += dy[(i * (c + features) + c + f) * plane + p];
        // std = mean_q s_q, s_q = √(mean_g (x_g − μ_q)² + 1e-8): ∂s_q/∂x_g = (x_g − μ_q) / (G·s_q).
        for (int m = 0; m < groups; m++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < plane; p++)
                {
                    int f = ch / cf, q = ch * plane + p;
                    double mu = 0;
                    for (int k = 0; k < g; k++) mu += x[((k * groups + m) * c) * plane + q];
                    mu /= g;
                    double scale = dStd[m * features + f] / (cf * plane) / (g * sd[m * c * plane + q]);
                    for (int k = 0; k < g; k++)
                    {
                        int at = ((k * groups + m) * c) * plane + q;
                        dx[(k * groups + m) * c * plane + q] += (float)(scale * (x[at] - mu));
                    }
                }
        return dx;
    }

    /// <summary>The appended value per group and feature, and s_q per group and position (double).</summary>
    private static (double[] Std, double[] S) Statistics(float[] x, Shape shape, int groupSize, int features)
    {
        var (n, c, h, w) = shape.Nchw;
        int g = GroupSize(groupSize, n), groups = n / g, cf = c / features, plane = h * w;
        var std = new double[groups * features];
        var s = new double[groups * c * plane];
        for (int m = 0; m < groups; m++)
            for (int q = 0; q < c * plane; q++)
            {
                double mu = 0, v = 0;
                for (int k = 0; k < g; k++) mu += x[(k * groups + m) * c * plane + q];
                mu /= g;
                for (int k = 0; k < g; k++)
                {
                    double d = x[(k * groups + m) * c * plane + q] - mu;
                    v += d * d;
                }
                s[m * c * plane + q] = Math.Sqrt(v / g + 1e-8);
                std[m * features + q / (cf * plane)] += s[m * c * plane + q] / (cf * plane);
            }
        return (std, s);
    }
}
