namespace GrpcExplain.Kernels.Networks;

/// <summary>
/// One stage of the feature extractor: A = ReLU(conv3x3(X, W·gain, padding 1) + b), then, for every
/// stage but the last, 2x2 average pooling (upfirdn2d with the 2x2 box filter [¼ ¼; ¼ ¼] and down 2).
/// The ReLU runs in place on the convolution's output, since its backward needs only A.
/// </summary>
internal sealed class ConvStage
{
    /// <summary>2x2 average pooling: Separable(1, 1) is the box [½, ½] ⊗ [½, ½], down 2 keeps every other pixel.</summary>
    internal static readonly Upfirdn2dParams AveragePool2x = new(Down: 2) { Filter = FirFilter.Separable(1, 1) };

    private readonly Backend _b;
    private readonly Tensor _weight, _bias;
    private readonly Conv2dParams _conv;
    private readonly bool _pool;

    public ConvStage(Backend backend, Func<string, Tensor> parameter, string name, int inChannels, bool pool)
    {
        _b = backend;
        Name = name;
        _weight = parameter($"{name}.weight");
        _bias = parameter($"{name}.bias");
        _conv = new Conv2dParams(Stride: 1, Padding: 1, WeightGain: ConvNetArchitecture.ConvGain(inChannels));
        _pool = pool;
    }

    public string Name { get; }

    /// <summary>What backward reads: the stage's input, its activation (after ReLU), and the output (pooled A, or A itself).</summary>
    public sealed record Saved(Tensor X, Tensor A, Tensor Out);

    public Saved Forward(Tensor x, TensorTape tape)
    {
        var (n, _, h, w) = x.Shape.Nchw;
        var a = tape.Keep(_b.Allocate(n, _weight.Shape[0], h, w));
        _b.Conv2dForward(x, _weight, a, _conv);
        _b.BiasActivateForward(a, _bias, null, null, a, BiasActivateParams.Relu);
        if (!_pool) return new Saved(x, a, a);
        var pooled = tape.Keep(_b.Allocate(AveragePool2x.OutputShape(a.Shape)));
        _b.Upfirdn2dForward(a, pooled, AveragePool2x);
        return new Saved(x, a, pooled);
    }

    /// <summary>dL/dX from dL/d(output) (null unless <paramref name="needDx"/>); parameter gradients into <paramref name="sink"/>.</summary>
    public Tensor? Backward(Saved s, Tensor dOut, GradientSink? sink, bool needDx)
    {
        using var dA = _pool ? _b.Allocate(s.A.Shape) : null;
        if (dA is not null) _b.Upfirdn2dBackward(dOut, dA, AveragePool2x);
        using var dPre = _b.Allocate(s.A.Shape);
        _b.BiasActivateBackward(s.A, dA ?? dOut, null, null, dPre, sink?.For($"{Name}.bias", _bias.Shape), null, null, BiasActivateParams.Relu);
        var dx = needDx ? _b.Allocate(s.X.Shape) : null;
        var dWeight = sink?.For($"{Name}.weight", _weight.Shape);
        if (dx is not null || dWeight is not null) _b.Conv2dBackward(s.X, _weight, dPre, dx, dWeight, _conv);
        return dx;
    }
}

/// <summary>
/// The head: the last feature map [N, C, f, f] as features (global average pooling, upfirdn2d with an
/// f x f box filter and down f, to [N, C]; or the map flattened to [N, C·f·f]) and
/// outputs = features·(W·gain)ᵀ + b. The backend has no reshape, so the features cross to the [N, in]
/// the fully connected op takes through the host: N·in floats, little beside the convolutions.
/// </summary>
internal sealed class LinearHead
{
    private static readonly FullyConnectedParams Linear = new(LrMul: 1f, LeakyRelu: false);

    private readonly Backend _b;
    private readonly Tensor _weight, _bias;
    private readonly Upfirdn2dParams? _gap;

    public LinearHead(Backend backend, Func<string, Tensor> parameter, int featureResolution, ConvNetHeadInput input)
    {
        _b = backend;
        _weight = parameter("fc.weight");
        _bias = parameter("fc.bias");
        _gap = input == ConvNetHeadInput.GlobalAverage
            ? new Upfirdn2dParams(Down: featureResolution) { Filter = FirFilter.Separable([.. Enumerable.Repeat(1f, featureResolution)]) }
            : null;
    }

    /// <summary>What backward reads: the features as [N, in] and the outputs.</summary>
    public sealed record Saved(Tensor Features, Tensor Outputs);

    public Saved Forward(Tensor a, TensorTape tape)
    {
        var (n, c, _, _) = a.Shape.Nchw;
        Tensor features;
        if (_gap is null) features = tape.Keep(_b.Upload(_b.Download(a), new Shape(n, a.Shape.Length / n)));
        else
        {
            using var pooled = _b.Allocate(n, c, 1, 1);
            _b.Upfirdn2dForward(a, pooled, _gap);
            features = tape.Keep(_b.Upload(_b.Download(pooled), new Shape(n, c)));
        }
        var outputs = tape.Keep(_b.Allocate(n, _weight.Shape[0]));
        _b.FullyConnectedForward(features, _weight, _bias, outputs, Linear);
        return new Saved(features, outputs);
    }

    /// <summary>dL/dA of the last feature map from dL/d(outputs); fc gradients into <paramref name="sink"/>.</summary>
    public Tensor Backward(Saved s, Tensor dOutputs, GradientSink? sink, Shape featureMap)
    {
        var (n, c, _, _) = featureMap.Nchw;
        using var dFeatures = _b.Allocate(s.Features.Shape);
        _b.FullyConnectedBackward(s.Features, _weight, s.Outputs, dOutputs, dFeatures,
            sink?.For("fc.weight", _weight.Shape), sink?.For("fc.bias", _bias.Shape), Linear);
        if (_gap is null) return _b.Upload(_b.Download(dFeatures), featureMap);
        using var dPooled = _b.Upload(_b.Download(dFeatures), new Shape(n, c, 1, 1));
        var dA = _b.Allocate(featureMap);
        _b.Upfirdn2dBackward(dPooled, dA, _gap);
        return dA;
    }
}
