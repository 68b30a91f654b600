using GrpcExplain.Kernels;

namespace GrpcExplain.Classifiers.Reference;

using Tensor = GrpcExplain.Kernels.Tensor;

/// <summary>dL/dθ by parameter name (null when not asked for) and dL/d(images) [N, C, H, W] (null when not asked for).</summary>
public sealed record ReferenceCnnGradients(IReadOnlyDictionary<string, float[]>? Parameters, float[]? Images);

/// <summary>
/// The reference classifier, a small CNN on our kernels (<see cref="ReferenceCnnConfig"/>): 3x3
/// convolutions with ReLU and 2x2 average pooling, global average pooling, one fully connected layer to
/// the class logits; softmax makes them probabilities. Unlike a black box it gives gradients: to its
/// parameters (training), to its input images (the gradient direction of the explainer) and to its last
/// feature map (Grad-CAM). Images are [N, C, R, R] in [-1, 1], already brought to the model's geometry
/// (see <see cref="InputImages"/>).
/// </summary>
public sealed class ReferenceCnn : IDisposable
{
    private readonly Dictionary<string, Tensor> _parameters = [];
    private readonly ConvStage[] _stages;
    private readonly ClassifierHead _head;

    /// <summary>Uploads every parameter to the backend once; the network owns those tensors, not the backend.</summary>
    public ReferenceCnn(Backend backend, ReferenceCnnWeights weights)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        Backend = backend;
        Config = weights.Config;
        foreach (var (name, shape) in Config.ParameterShapes()) _parameters[name] = backend.Upload(weights[name].Data, new Shape(shape));
        Tensor P(string name) => _parameters[name];
        _stages = [.. Enumerable.Range(0, Config.ConvCount).Select(i => new ConvStage(backend, P, $"conv{i}", Config.InChannels(i), pool: i < Config.ConvCount - 1))];
        _head = new ClassifierHead(backend, P, Config.FeatureResolution);
    }

    /// <summary>Loads a weights file (its metadata gives the architecture) onto <paramref name="backend"/>.</summary>
    public static ReferenceCnn Load(string path, Backend backend) => new(backend, ReferenceCnnWeights.Load(path));

    public Backend Backend { get; }

    public ReferenceCnnConfig Config { get; }

    /// <summary>Values in one image: C·R·R.</summary>
    public int ImageLength => Config.ImgChannels * Config.ImgResolution * Config.ImgResolution;

    /// <summary>images [N, C, R, R] → logits [N, classes].</summary>
    public float[] Logits(float[] images, int n)
    {
        using var pass = Record(images, n);
        return pass.Logits;
    }

    /// <summary>Softmax of the logits, [N, classes].</summary>
    public float[] Probabilities(float[] images, int n) => SoftmaxCrossEntropy.Probabilities(Logits(images, n), Config.ClassCount);

    /// <summary>A forward pass that keeps what <see cref="ReferenceCnnPass.Backward"/> needs; dispose it to free that.</summary>
    public ReferenceCnnPass Record(float[] images, int n)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var shape = new Shape(n, Config.ImgChannels, Config.ImgResolution, Config.ImgResolution);
        if (images.Length != shape.Length)
            throw new ArgumentException($"Expected {shape.Length} values for {n} images of {Config.ImgChannels}x{Config.ImgResolution}x{Config.ImgResolution}, got {images.Length}.", nameof(images));
        int bad = Preprocessing.FirstNonFinite(images);
        if (bad >= 0) throw new ArgumentException($"Image {bad / ImageLength} has a value that is NaN or infinite (element {bad % ImageLength}).", nameof(images));
        var tape = new TensorTape();
        try
        {
            var x = tape.Keep(Backend.Upload(images, shape));
            var saved = new ConvStage.Saved[_stages.Length];
            for (int i = 0; i < _stages.Length; i++)
            {
                saved[i] = _stages[i].Forward(x, tape);
                x = saved[i].Out;
            }
            var head = _head.Forward(x, tape);
            return new ReferenceCnnPass(this, tape, saved, head, n);
        }
        catch
        {
            tape.Dispose();
            throw;
        }
    }

    internal (Dictionary<string, float[]>? Parameters, float[]? Images) Backward(ConvStage.Saved[] saved, ClassifierHead.Saved head,
        float[] dLogits, bool parameters, bool images)
    {
        using var sink = parameters ? new GradientSink(Backend) : null;
        using var dl = Backend.Upload(dLogits, head.Logits.Shape);
        var d = _head.Backward(head, dl, sink, saved[^1].A.Shape);
        for (int i = _stages.Length - 1; i >= 0 && d is not null; i--)
        {
            var dIn = _stages[i].Backward(saved[i], d, sink, needDx: i > 0 || images);
            d.Dispose();
            d = dIn;
        }
        using (d)
            return (sink?.Tensors.ToDictionary(p => p.Key, p => Backend.Download(p.Value)), d is null ? null : Backend.Download(d));
    }

    /// <summary>The last feature map A [N, C, f, f] and dL/dA for dL/d(logits): what Grad-CAM weighs.</summary>
    internal (float[] A, float[] DA) FeatureGradient(ConvStage.Saved[] saved, ClassifierHead.Saved head, float[] dLogits)
    {
        using var dl = Backend.Upload(dLogits, head.Logits.Shape);
        using var dA = _head.Backward(head, dl, null, saved[^1].A.Shape);
        return (Backend.Download(saved[^1].A), Backend.Download(dA));
    }

    /// <summary>
    /// The logits and the gradient of each image's class-<paramref name="classIndex"/> logit with respect to
    /// that image, [N, C, R, R] (images do not interact, so one backward pass of Σₙ logitₙ gives them all).
    /// </summary>
    public (float[] Logits, float[] ImageGradient) LogitGradient(float[] images, int n, int classIndex)
    {
        CheckClass(classIndex);
        using var pass = Record(images, n);
        var g = pass.Backward(OneHot(n, classIndex), parameters: false, images: true);
        return (pass.Logits, g.Images!);
    }

    /// <summary>
    /// Grad-CAM (Selvaraju et al. 2017) of one image [C, R, R] for class <paramref name="classIndex"/> on the
    /// last convolution's activations (after its ReLU): see <see cref="GradCamMap"/>. Returns [R, R] in [0, 1].
    /// </summary>
    public float[] GradCam(float[] image, int classIndex)
    {
        CheckClass(classIndex);
        using var pass = Record(image, 1);
        var (a, dA) = pass.FeatureGradient(OneHot(1, classIndex));
        return GradCamMap.Compute(a, dA, Config.FeatureChannels, Config.FeatureResolution, Config.ImgResolution);
    }

    /// <summary>The current parameters (after optimiser steps), to save or to hand to another backend.</summary>
    public ReferenceCnnWeights ToWeights() =>
        ReferenceCnnWeights.FromTensors(Config, Config.ParameterShapes().ToDictionary(p => p.Name, p => new HostTensor(p.Shape, Backend.Download(_parameters[p.Name]))));

    /// <summary>Overwrites the named parameters (an optimiser step's result); names and sizes are checked.</summary>
    public void SetParameters(IReadOnlyDictionary<string, float[]> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (name, v) in values)
        {
            if (!_parameters.TryGetValue(name, out var t)) throw new ArgumentException($"The reference CNN has no parameter '{name}'.", nameof(values));
            Backend.Upload(v, t);
        }
    }

    public void Dispose()
    {
        foreach (var t in _parameters.Values) t.Dispose();
        _parameters.Clear();
    }

    private void CheckClass(int classIndex)
    {
        if (classIndex < 0 || classIndex >= Config.ClassCount)
            throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"the classifier has classes 0 to {Config.ClassCount - 1} ({string.Join(", ", Config.ClassLabels)}).");
    }

    private float[] OneHot(int n, int classIndex)
    {
        var d = new float[n * Config.ClassCount];
        for (int i = 0; i < n; i++) d[i * Config.ClassCount + classIndex] = 1f;
        return d;
    }
}

/// <summary>One recorded forward pass: the logits and the activations; dispose it to free them.</summary>
public sealed class ReferenceCnnPass : IDisposable
{
    private readonly ReferenceCnn _net;
    private readonly TensorTape _tape;
    private readonly ConvStage.Saved[] _saved;
    private readonly ClassifierHead.Saved _head;
    private bool _disposed;

    internal ReferenceCnnPass(ReferenceCnn net, TensorTape tape, ConvStage.Saved[] saved, ClassifierHead.Saved head, int batch)
    {
        (_net, _tape, _saved, _head, Batch) = (net, tape, saved, head, batch);
        Logits = net.Backend.Download(head.Logits);
    }

    public int Batch { get; }

    /// <summary>[N, classes].</summary>
    public float[] Logits { get; }

    /// <summary>
    /// From dL/d(logits) [N, classes]: the gradient of every parameter (by name, unscaled as stored) and of
    /// the images, each only when asked for. Can be called more than once.
    /// </summary>
    public ReferenceCnnGradients Backward(float[] dLogits, bool parameters = true, bool images = true)
    {
        CheckLogitGradient(dLogits);
        var (p, x) = _net.Backward(_saved, _head, dLogits, parameters, images);
        return new ReferenceCnnGradients(p, x);
    }

    internal (float[] A, float[] DA) FeatureGradient(float[] dLogits)
    {
        CheckLogitGradient(dLogits);
        return _net.FeatureGradient(_saved, _head, dLogits);
    }

    private void CheckLogitGradient(float[] dLogits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(dLogits);
        if (dLogits.Length != Logits.Length)
            throw new ArgumentException($"dLogits holds {dLogits.Length} values; the batch of {Batch} has {Logits.Length} logits.", nameof(dLogits));
    }

    public void Dispose()
    {
        _disposed = true;
        _tape.Dispose();
    }
}
