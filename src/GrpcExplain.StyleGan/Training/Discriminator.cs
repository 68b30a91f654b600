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
            return new DiscriminatorPass(this, tape, saved, epilogue, n);
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
    private bool _disposed;

    internal DiscriminatorPass(Discriminator d, Tape tape, List<DiscriminatorBlock.Saved> saved, DiscriminatorEpilogue.Saved epilogue, int batch)
    {
        (_d, Tape, Saved, Epilogue, Batch) = (d, tape, saved, epilogue, batch);
        Logits = d.Backend.Download(epilogue.Out.Y);
    }

    public int Batch { get; }

    /// <summary>D(x), one logit per image.</summary>
    public float[] Logits { get; }

    internal Tape Tape { get; }
    internal List<DiscriminatorBlock.Saved> Saved { get; }
    internal DiscriminatorEpilogue.Saved Epilogue { get; }

    /// <summary>
    /// From dL/d(logits) [N]: the gradient of every parameter (by NVIDIA's name, unscaled as stored) and
    /// of the images, each only when asked for. Can be called more than once.
    /// </summary>
    public DiscriminatorGradients Backward(float[] dLogits, bool parameters = true, bool images = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(dLogits);
        if (dLogits.Length != Batch) throw new ArgumentException($"dLogits holds {dLogits.Length} values for a batch of {Batch}.", nameof(dLogits));
        var (p, x) = _d.Backward(Saved, Epilogue, dLogits, parameters, images);
        return new DiscriminatorGradients(p, x);
    }

    public void Dispose()
    {
        _disposed = true;
        Tape.Dispose();
    }
}
