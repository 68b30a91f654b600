namespace GrpcExplain.Kernels.Networks;

/// <summary>How the last feature map [N, C, f, f] reaches the fully connected layer.</summary>
public enum ConvNetHeadInput
{
    /// <summary>Global average pooling to [N, C]: position-free features (a classifier's, Grad-CAM's).</summary>
    GlobalAverage,

    /// <summary>The whole map flattened to [N, C·f·f]: where things are still matters (an encoder's regression).</summary>
    Flatten,
}

/// <summary>
/// A plain convolutional network: for each entry of <see cref="Channels"/> a 3x3 convolution (padding 1)
/// with ReLU, each but the last followed by 2x2 average pooling; then <see cref="HeadInput"/> and one
/// fully connected layer to <see cref="Outputs"/> values. Parameters are named as PyTorch would name them
/// (<c>conv0.weight</c> [O, I, 3, 3], <c>conv0.bias</c>, …, <c>fc.weight</c> [outputs, in], <c>fc.bias</c>),
/// stored unscaled and scaled at run time (equalized learning rate): a convolution by
/// <see cref="ConvGain"/>, the fully connected layer by 1/√in_features.
/// </summary>
public sealed record ConvNetArchitecture(int ImgChannels, int ImgResolution, IReadOnlyList<int> Channels, int Outputs, ConvNetHeadInput HeadInput)
{
    public int ConvCount => Channels.Count;

    /// <summary>Side of the last convolution's feature map: img_resolution / 2^(convs − 1).</summary>
    public int FeatureResolution => ImgResolution >> (ConvCount - 1);

    public int FeatureChannels => Channels[^1];

    /// <summary>Inputs of the fully connected layer.</summary>
    public int HeadFeatures => HeadInput == ConvNetHeadInput.GlobalAverage ? FeatureChannels : FeatureChannels * FeatureResolution * FeatureResolution;

    /// <summary>Input channels of convolution <paramref name="layer"/>.</summary>
    public int InChannels(int layer) => layer == 0 ? ImgChannels : Channels[layer - 1];

    /// <summary>Values in one input image: C·R·R.</summary>
    public int ImageLength => ImgChannels * ImgResolution * ImgResolution;

    /// <summary>Run-time gain of convolution weights with this many input channels (He's gain for ReLU).</summary>
    public static float ConvGain(int inChannels) => MathF.Sqrt(2f / (inChannels * 9));

    /// <summary>Every parameter with its name and shape, in the order of the network.</summary>
    public IEnumerable<(string Name, int[] Shape)> ParameterShapes()
    {
        for (int i = 0; i < ConvCount; i++)
        {
            yield return ($"conv{i}.weight", [Channels[i], InChannels(i), 3, 3]);
            yield return ($"conv{i}.bias", [Channels[i]]);
        }
        yield return ("fc.weight", [Outputs, HeadFeatures]);
        yield return ("fc.bias", [Outputs]);
    }

    /// <summary>Every weight N(0, 1) (the gains come at run time), every bias 0; the same seed gives the same values.</summary>
    public Dictionary<string, HostTensor> Initialize(int seed)
    {
        var rng = new Random(seed);
        var tensors = new Dictionary<string, HostTensor>();
        foreach (var (name, shape) in ParameterShapes())
        {
            var data = new float[HostTensor.Count(shape)];
            if (name.EndsWith(".weight", StringComparison.Ordinal))
                for (int i = 0; i < data.Length; i++)
                    data[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
            tensors[name] = new HostTensor(shape, data);
        }
        return tensors;
    }

    public bool Equals(ConvNetArchitecture? other) =>
        other is not null && ImgChannels == other.ImgChannels && ImgResolution == other.ImgResolution && Channels.SequenceEqual(other.Channels)
        && Outputs == other.Outputs && HeadInput == other.HeadInput;

    public override int GetHashCode() => HashCode.Combine(ImgChannels, ImgResolution, Channels.Count, Outputs, HeadInput);
}

/// <summary>dL/dθ by parameter name (null when not asked for) and dL/d(input) [N, C, H, W] (null when not asked for).</summary>
public sealed record ConvNetGradients(IReadOnlyDictionary<string, float[]>? Parameters, float[]? Input);

/// <summary>
/// <see cref="ConvNetArchitecture"/> on a backend, with its backward pass: gradients to the parameters
/// (training), to the input (an image gradient) and to the last feature map (Grad-CAM). The reference
/// classifier and the generator's encoder are both this network with their own heads' meaning.
/// Not thread-safe.
/// </summary>
public sealed class ConvNet : IDisposable
{
    private readonly Dictionary<string, Tensor> _parameters = [];
    private readonly ConvStage[] _stages;
    private readonly LinearHead _head;

    /// <summary>Uploads every parameter once; the network owns those tensors, not the backend.</summary>
    public ConvNet(Backend backend, ConvNetArchitecture architecture, IReadOnlyDictionary<string, HostTensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(parameters);
        (Backend, Architecture) = (backend, architecture);
        foreach (var (name, shape) in architecture.ParameterShapes()) _parameters[name] = backend.Upload(parameters[name].Data, new Shape(shape));
        Tensor P(string name) => _parameters[name];
        _stages = [.. Enumerable.Range(0, architecture.ConvCount).Select(i => new ConvStage(backend, P, $"conv{i}", architecture.InChannels(i), pool: i < architecture.ConvCount - 1))];
        _head = new LinearHead(backend, P, architecture.FeatureResolution, architecture.HeadInput);
    }

    public Backend Backend { get; }

    public ConvNetArchitecture Architecture { get; }

    /// <summary>A forward pass of [N, C, R, R] inputs (checked by the caller) that keeps what its backward needs; dispose it to free that.</summary>
    public ConvNetPass Record(float[] input, int n)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var a = Architecture;
        var shape = new Shape(n, a.ImgChannels, a.ImgResolution, a.ImgResolution);
        if (input.Length != shape.Length)
            throw new ArgumentException($"Expected {shape.Length} values for {n} images of {a.ImgChannels}x{a.ImgResolution}x{a.ImgResolution}, got {input.Length}.", nameof(input));
        var tape = new TensorTape();
        try
        {
            var x = tape.Keep(Backend.Upload(input, shape));
            var saved = new ConvStage.Saved[_stages.Length];
            for (int i = 0; i < _stages.Length; i++)
            {
                saved[i] = _stages[i].Forward(x, tape);
                x = saved[i].Out;
            }
            return new ConvNetPass(this, tape, saved, _head.Forward(x, tape), n);
        }
        catch
        {
            tape.Dispose();
            throw;
        }
    }

    internal ConvNetGradients Backward(ConvStage.Saved[] saved, LinearHead.Saved head, float[] dOutputs, bool parameters, bool input)
    {
        using var sink = parameters ? new GradientSink(Backend) : null;
        using var dl = Backend.Upload(dOutputs, head.Outputs.Shape);
        var d = _head.Backward(head, dl, sink, saved[^1].A.Shape);
        for (int i = _stages.Length - 1; i >= 0 && d is not null; i--)
        {
            var dIn = _stages[i].Backward(saved[i], d, sink, needDx: i > 0 || input);
            d.Dispose();
            d = dIn;
        }
        using (d)
            return new(sink?.Tensors.ToDictionary(p => p.Key, p => Backend.Download(p.Value)), d is null ? null : Backend.Download(d));
    }

    internal (float[] A, float[] DA) FeatureGradient(ConvStage.Saved[] saved, LinearHead.Saved head, float[] dOutputs)
    {
        using var dl = Backend.Upload(dOutputs, head.Outputs.Shape);
        using var dA = _head.Backward(head, dl, null, saved[^1].A.Shape);
        return (Backend.Download(saved[^1].A), Backend.Download(dA));
    }

    /// <summary>The current parameters (after optimiser steps), on the host.</summary>
    public Dictionary<string, HostTensor> DownloadParameters() =>
        Architecture.ParameterShapes().ToDictionary(p => p.Name, p => new HostTensor(p.Shape, Backend.Download(_parameters[p.Name])));

    /// <summary>Overwrites the named parameters (an optimiser step's result); names and sizes are checked.</summary>
    public void SetParameters(IReadOnlyDictionary<string, float[]> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (name, v) in values)
        {
            if (!_parameters.TryGetValue(name, out var t)) throw new ArgumentException($"The network has no parameter '{name}'.", nameof(values));
            Backend.Upload(v, t);
        }
    }

    public void Dispose()
    {
        foreach (var t in _parameters.Values) t.Dispose();
        _parameters.Clear();
    }
}

/// <summary>One recorded forward pass of a <see cref="ConvNet"/>: its outputs and activations; dispose it to free them.</summary>
public sealed class ConvNetPass : IDisposable
{
    private readonly ConvNet _net;
    private readonly TensorTape _tape;
    private readonly ConvStage.Saved[] _saved;
    private readonly LinearHead.Saved _head;
    private bool _disposed;

    internal ConvNetPass(ConvNet net, TensorTape tape, ConvStage.Saved[] saved, LinearHead.Saved head, int batch)
    {
        (_net, _tape, _saved, _head, Batch) = (net, tape, saved, head, batch);
        Outputs = net.Backend.Download(head.Outputs);
    }

    public int Batch { get; }

    /// <summary>[N, outputs].</summary>
    public float[] Outputs { get; }

    /// <summary>From dL/d(outputs) [N, outputs]: each parameter's gradient (by name, unscaled as stored) and the input's, each only when asked for. Can be called more than once.</summary>
    public ConvNetGradients Backward(float[] dOutputs, bool parameters = true, bool input = true)
    {
        Check(dOutputs);
        return _net.Backward(_saved, _head, dOutputs, parameters, input);
    }

    /// <summary>The last feature map A [N, C, f, f] (after its ReLU) and dL/dA: what Grad-CAM weighs.</summary>
    public (float[] A, float[] DA) FeatureGradient(float[] dOutputs)
    {
        Check(dOutputs);
        return _net.FeatureGradient(_saved, _head, dOutputs);
    }

    private void Check(float[] dOutputs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(dOutputs);
        if (dOutputs.Length != Outputs.Length)
            throw new ArgumentException($"The output gradient holds {dOutputs.Length} values; the batch of {Batch} has {Outputs.Length} outputs.", nameof(dOutputs));
    }

    public void Dispose()
    {
        _disposed = true;
        _tape.Dispose();
    }
}
