using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan.Training;

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
