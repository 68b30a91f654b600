using GrpcExplain.Kernels;
using GrpcExplain.Kernels.Networks;

namespace GrpcExplain.Classifiers.Reference;

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
    private readonly ConvNet _net;

    /// <summary>Uploads every parameter to the backend once; the network owns those tensors, not the backend.</summary>
    public ReferenceCnn(Backend backend, ReferenceCnnWeights weights)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        Config = weights.Config;
        _net = new ConvNet(backend, Config.Architecture, weights.Tensors);
    }

    /// <summary>Loads a weights file (its metadata gives the architecture) onto <paramref name="backend"/>.</summary>
    public static ReferenceCnn Load(string path, Backend backend) => new(backend, ReferenceCnnWeights.Load(path));

    public Backend Backend => _net.Backend;

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
        if (images.Length != n * ImageLength)
            throw new ArgumentException($"Expected {n * ImageLength} values for {n} images of {Config.ImgChannels}x{Config.ImgResolution}x{Config.ImgResolution}, got {images.Length}.", nameof(images));
        int bad = Preprocessing.FirstNonFinite(images);
        if (bad >= 0) throw new ArgumentException($"Image {bad / ImageLength} has a value that is NaN or infinite (element {bad % ImageLength}).", nameof(images));
        return new ReferenceCnnPass(_net.Record(images, n));
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
    public ReferenceCnnWeights ToWeights() => ReferenceCnnWeights.FromTensors(Config, _net.DownloadParameters());

    /// <summary>Overwrites the named parameters (an optimiser step's result); names and sizes are checked.</summary>
    public void SetParameters(IReadOnlyDictionary<string, float[]> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var name in values.Keys)
            if (!Config.ParameterShapes().Any(p => p.Name == name)) throw new ArgumentException($"The reference CNN has no parameter '{name}'.", nameof(values));
        _net.SetParameters(values);
    }

    public void Dispose() => _net.Dispose();

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
    private readonly ConvNetPass _pass;

    internal ReferenceCnnPass(ConvNetPass pass) => _pass = pass;

    public int Batch => _pass.Batch;

    /// <summary>[N, classes].</summary>
    public float[] Logits => _pass.Outputs;

    /// <summary>
    /// From dL/d(logits) [N, classes]: the gradient of every parameter (by name, unscaled as stored) and of
    /// the images, each only when asked for. Can be called more than once.
    /// </summary>
    public ReferenceCnnGradients Backward(float[] dLogits, bool parameters = true, bool images = true)
    {
        CheckLogitGradient(dLogits);
        var g = _pass.Backward(dLogits, parameters, images);
        return new ReferenceCnnGradients(g.Parameters, g.Input);
    }

    internal (float[] A, float[] DA) FeatureGradient(float[] dLogits)
    {
        CheckLogitGradient(dLogits);
        return _pass.FeatureGradient(dLogits);
    }

    private void CheckLogitGradient(float[] dLogits)
    {
        ArgumentNullException.ThrowIfNull(dLogits);
        if (dLogits.Length != Logits.Length)
            throw new ArgumentException($"dLogits holds {dLogits.Length} values; the batch of {Batch} has {Logits.Length} logits.", nameof(dLogits));
    }

    public void Dispose() => _pass.Dispose();
}
