namespace GrpcExplain.Kernels;

/// <summary>
/// The one interface every op runs through. Each op is a forward/backward pair; backward writes the
/// gradient of every input, style and parameter whose output tensor is given (null skips it).
/// Outputs are overwritten, never accumulated. Arguments are checked here, once for all backends,
/// so a bad call fails with the same clear <see cref="ArgumentException"/> everywhere.
/// Two implementations: <c>CpuBackend</c> (SIMD C#) and <c>IlgpuBackend</c> (hand-written ILGPU kernels).
/// </summary>
public abstract partial class Backend : IDisposable
{
    /// <summary>"cpu", "cuda" or "ilgpu-cpu".</summary>
    public abstract string Name { get; }

    /// <summary>The processor or GPU the backend runs on, in words.</summary>
    public abstract string Device { get; }

    // Memory ------------------------------------------------------------------------------------

    /// <summary>A zero-filled tensor.</summary>
    public Tensor Allocate(Shape shape) => AllocateCore(shape);

    public Tensor Allocate(params int[] dims) => AllocateCore(new Shape(dims));

    public Tensor Upload(ReadOnlySpan<float> values, Shape shape)
    {
        if (values.Length != shape.Length)
            throw new ArgumentException($"Upload: {values.Length} values do not fill shape {shape} ({shape.Length} elements).", nameof(values));
        var t = AllocateCore(shape);
        UploadCore(values, t);
        return t;
    }

    /// <summary>Overwrites an existing tensor with host values (new weights after an optimiser step, say).</summary>
    public void Upload(ReadOnlySpan<float> values, Tensor destination)
    {
        Check.Owned(this, "Upload", nameof(destination), destination);
        if (values.Length != destination.Length)
            throw new ArgumentException($"Upload: {values.Length} values do not fill tensor {destination.Shape} ({destination.Length} elements).", nameof(values));
        UploadCore(values, destination);
        Wrote(destination);
    }

    /// <summary>Copies the tensor to host memory, waiting for pending work.</summary>
    public void Download(Tensor tensor, Span<float> destination)
    {
        Check.Owned(this, "Download", nameof(tensor), tensor);
        if (destination.Length != tensor.Length)
            throw new ArgumentException($"Download: destination holds {destination.Length} values, tensor {tensor.Shape} has {tensor.Length}.", nameof(destination));
        DownloadCore(tensor, destination);
    }

    public float[] Download(Tensor tensor)
    {
        var a = new float[tensor.Length];
        Download(tensor, a);
        return a;
    }

    /// <summary>Waits until all queued work has finished.</summary>
    public abstract void Synchronize();

    // 1. Fully connected ------------------------------------------------------------------------

    public void FullyConnectedForward(Tensor x, Tensor weight, Tensor? bias, Tensor y, FullyConnectedParams p)
    {
        p.Validate(this, x, weight, bias, y);
        Check.NoAlias("FullyConnected", [("y", y)], ("x", x), ("weight", weight), ("bias", bias));
        FullyConnectedForwardCore(x, weight, bias, y, p);
        Wrote(y);
    }

    /// <summary>y is the forward output (its sign gives the leaky ReLU's slope).</summary>
    public void FullyConnectedBackward(Tensor x, Tensor weight, Tensor y, Tensor dy, Tensor? dx, Tensor? dWeight, Tensor? dBias, FullyConnectedParams p)
    {
        p.Validate(this, x, weight, null, y, dy);
        Check.Distinct("FullyConnected", ("dx", dx), ("dWeight", dWeight), ("dBias", dBias), ("dy", dy));
        Check.Owned(this, "FullyConnected", "dx", dx);
        Check.Owned(this, "FullyConnected", "dWeight", dWeight);
        Check.Owned(this, "FullyConnected", "dBias", dBias);
        Check.Shape("FullyConnected", "dx", dx, x.Shape, "same as x");
        Check.Shape("FullyConnected", "dWeight", dWeight, weight.Shape, "same as weight");
        Check.Shape("FullyConnected", "dBias", dBias, new Shape(weight.Shape[0]), "out_features");
        Check.NoAlias("FullyConnected", [("dx", dx), ("dWeight", dWeight), ("dBias", dBias)], ("x", x), ("weight", weight), ("y", y));
        FullyConnectedBackwardCore(x, weight, y, dy, dx, dWeight, dBias, p);
        Wrote(dx, dWeight, dBias);
    }

    // 2. normalize_2nd_moment -------------------------------------------------------------------

    public void Normalize2ndMomentForward(Tensor x, Tensor y)
    {
        Normalize2ndMoment.Validate(this, x, y);
        Check.NoAlias("Normalize2ndMoment", [("y", y)], ("x", x));
        Normalize2ndMomentForwardCore(x, y);
        Wrote(y);
    }

    public void Normalize2ndMomentBackward(Tensor x, Tensor dy, Tensor dx)
    {
        Normalize2ndMoment.Validate(this, x, dx, dy, "dx");
        Check.NoAlias("Normalize2ndMoment", [("dx", dx)], ("x", x), ("dy", dy));
        Normalize2ndMomentBackwardCore(x, dy, dx);
        Wrote(dx);
    }

    // 3, 4. Modulated convolution ---------------------------------------------------------------

    public void ModulatedConv2dForward(Tensor x, Tensor weight, Tensor styles, Tensor y, ModulatedConv2dParams p) =>
        ModulatedConv2dForward(x, weight, styles, y, p, null);

    /// <summary>The convolution followed by <paramref name="epilogue"/> (y = bias_act(conv)), fused where the backend can.</summary>
    public void ModulatedConv2dForward(Tensor x, Tensor weight, Tensor styles, Tensor y, ModulatedConv2dParams p, ConvEpilogue? epilogue)
    {
        p.Validate(this, x, weight, styles, y);
        Check.NoAlias("ModulatedConv2d", [("y", y)], ("x", x), ("weight", weight), ("styles", styles));
        if (epilogue is not null)
        {
            epilogue.Params.Validate(this, y, epilogue.Bias, epilogue.Noise, epilogue.NoiseStrength, y);
            Check.NoAlias("ModulatedConv2d", [("y", y)], ("bias", epilogue.Bias), ("noise", epilogue.Noise), ("noise_strength", epilogue.NoiseStrength));
        }
        ModulatedConv2dForwardCore(x, weight, styles, y, p, epilogue);
        Wrote(y);
    }

    /// <summary>y is the forward output (demodulation's gradient is computed from it).</summary>
    public void ModulatedConv2dBackward(Tensor x, Tensor weight, Tensor styles, Tensor y, Tensor dy,
        Tensor? dx, Tensor? dWeight, Tensor? dStyles, ModulatedConv2dParams p)
    {
        const string op = "ModulatedConv2d";
        p.Validate(this, x, weight, styles, y, dy);
        Check.Distinct(op, ("dx", dx), ("dWeight", dWeight), ("dStyles", dStyles), ("dy", dy));
        foreach (var (n, t) in new[] { ("dx", dx), ("dWeight", dWeight), ("dStyles", dStyles) }) Check.Owned(this, op, n, t);
        Check.Shape(op, "dx", dx, x.Shape, "same as x");
        Check.Shape(op, "dWeight", dWeight, weight.Shape, "same as weight");
        Check.Shape(op, "dStyles", dStyles, styles.Shape, "same as styles");
        Check.NoAlias(op, [("dx", dx), ("dWeight", dWeight), ("dStyles", dStyles)], ("x", x), ("weight", weight), ("styles", styles), ("y", y));
        ModulatedConv2dBackwardCore(x, weight, styles, y, dy, dx, dWeight, dStyles, p);
        Wrote(dx, dWeight, dStyles);
    }

    // Plain convolution -------------------------------------------------------------------------

    public void Conv2dForward(Tensor x, Tensor weight, Tensor y, Conv2dParams p)
    {
        p.Validate(this, x, weight, y);
        Check.NoAlias("Conv2d", [("y", y)], ("x", x), ("weight", weight));
        Conv2dForwardCore(x, weight, y, p);
        Wrote(y);
    }

    public void Conv2dBackward(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dWeight, Conv2dParams p)
    {
        p.Validate(this, x, weight, dy, "dy");
        Check.Distinct("Conv2d", ("dx", dx), ("dWeight", dWeight), ("dy", dy));
        Check.Owned(this, "Conv2d", "dx", dx);
        Check.Owned(this, "Conv2d", "dWeight", dWeight);
        Check.Shape("Conv2d", "dx", dx, x.Shape, "same as x");
        Check.Shape("Conv2d", "dWeight", dWeight, weight.Shape, "same as weight");
        Check.NoAlias("Conv2d", [("dx", dx), ("dWeight", dWeight)], ("x", x), ("weight", weight));
        Conv2dBackwardCore(x, weight, dy, dx, dWeight, p);
        Wrote(dx, dWeight);
    }

    // 5. upfirdn2d ------------------------------------------------------------------------------

    public void Upfirdn2dForward(Tensor x, Tensor y, Upfirdn2dParams p)
    {
        p.Validate(this, x, y);
        Upfirdn2dForwardCore(x, y, p);
        Wrote(y);
    }

    /// <summary>dx has the forward input's shape, dy the forward output's.</summary>
    public void Upfirdn2dBackward(Tensor dy, Tensor dx, Upfirdn2dParams p)
    {
        p.Validate(this, dx, dy, "dx", "dy");
        Upfirdn2dBackwardCore(dy, dx, p);
        Wrote(dx);
    }

    // 6. Fused epilogue -------------------------------------------------------------------------

    public void BiasActivateForward(Tensor x, Tensor? bias, Tensor? noise, Tensor? noiseStrength, Tensor y, BiasActivateParams p)
    {
        p.Validate(this, x, bias, noise, noiseStrength, y);
        Check.NoAlias("BiasActivate", [("y", y)], ("bias", bias), ("noise", noise), ("noise_strength", noiseStrength));
        BiasActivateForwardCore(x, bias, noise, noiseStrength, y, p);
        Wrote(y);
    }

    /// <summary>y is the forward output; dx may be dy itself (in place).</summary>
    public void BiasActivateBackward(Tensor y, Tensor dy, Tensor? noise, Tensor? noiseStrength,
        Tensor? dx, Tensor? dBias, Tensor? dNoise, Tensor? dNoiseStrength, BiasActivateParams p)
    {
        const string op = "BiasActivate";
        p.Validate(this, y, null, noise, noiseStrength, y, dy, "y");
        Check.Distinct(op, ("dBias", dBias), ("dNoise", dNoise), ("dNoiseStrength", dNoiseStrength), ("dy", dy));
        foreach (var (n, t) in new[] { ("dx", dx), ("dBias", dBias), ("dNoise", dNoise), ("dNoiseStrength", dNoiseStrength) }) Check.Owned(this, op, n, t);
        Check.Shape(op, "dx", dx, y.Shape, "same as y");
        Check.Shape(op, "dBias", dBias, new Shape(y.Shape[1]), "channels");
        Check.That(dNoise is null || noise is not null, op, "dNoise", "dNoise needs the noise tensor.");
        Check.That(dNoiseStrength is null || noise is not null, op, "dNoiseStrength", "dNoiseStrength needs the noise tensor.");
        if (noise is not null) Check.Shape(op, "dNoise", dNoise, noise.Shape, "same as noise");
        Check.Shape(op, "dNoiseStrength", dNoiseStrength, new Shape(1), "one scalar");
        Check.NoAlias(op, [("dx", dx), ("dBias", dBias), ("dNoise", dNoise), ("dNoiseStrength", dNoiseStrength)], ("y", y), ("noise", noise), ("noise_strength", noiseStrength));
        Check.NoAlias(op, [("dBias", dBias), ("dNoise", dNoise), ("dNoiseStrength", dNoiseStrength)], ("dx", dx));
        BiasActivateBackwardCore(y, dy, noise, noiseStrength, dx, dBias, dNoise, dNoiseStrength, p);
        Wrote(dx, dBias, dNoise, dNoiseStrength);
    }

    // 7. Reductions -----------------------------------------------------------------------------

    public void SumOverBatchAndSpaceForward(Tensor x, Tensor y)
    {
        SumOverBatchAndSpace.Validate(this, x, y);
        SumOverBatchAndSpaceForwardCore(x, y);
        Wrote(y);
    }

    public void SumOverBatchAndSpaceBackward(Tensor dy, Tensor dx)
    {
        SumOverBatchAndSpace.Validate(this, dx, dy, "dx", "dy");
        SumOverBatchAndSpaceBackwardCore(dy, dx);
        Wrote(dx);
    }

    /// <summary>Marks tensors as changed, so backends can tell when something derived from one (packed weights) is stale.</summary>
    private static void Wrote(params Tensor?[] outputs)
    {
        foreach (var t in outputs) t?.Touch();
    }

    // Element-wise ------------------------------------------------------------------------------

    /// <summary>y = a + b; y may be a or b.</summary>
    public void AddForward(Tensor a, Tensor b, Tensor y)
    {
        Add.Validate(this, a, b, y);
        AddForwardCore(a, b, y);
        Wrote(y);
    }

    // What each backend implements --------------------------------------------------------------

    protected abstract Tensor AllocateCore(Shape shape);
    protected abstract void UploadCore(ReadOnlySpan<float> values, Tensor destination);
    protected abstract void DownloadCore(Tensor source, Span<float> destination);
    protected abstract void FullyConnectedForwardCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, FullyConnectedParams p);
    protected abstract void FullyConnectedBackwardCore(Tensor x, Tensor weight, Tensor y, Tensor dy, Tensor? dx, Tensor? dWeight, Tensor? dBias, FullyConnectedParams p);
    protected abstract void Normalize2ndMomentForwardCore(Tensor x, Tensor y);
    protected abstract void Normalize2ndMomentBackwardCore(Tensor x, Tensor dy, Tensor dx);
    protected abstract void Upfirdn2dForwardCore(Tensor x, Tensor y, Upfirdn2dParams p);
    protected abstract void Upfirdn2dBackwardCore(Tensor dy, Tensor dx, Upfirdn2dParams p);
    protected abstract void BiasActivateForwardCore(Tensor x, Tensor? bias, Tensor? noise, Tensor? noiseStrength, Tensor y, BiasActivateParams p);
    protected abstract void BiasActivateBackwardCore(Tensor y, Tensor dy, Tensor? noise, Tensor? noiseStrength, Tensor? dx, Tensor? dBias, Tensor? dNoise, Tensor? dNoiseStrength, BiasActivateParams p);
    protected abstract void SumOverBatchAndSpaceForwardCore(Tensor x, Tensor y);
    protected abstract void SumOverBatchAndSpaceBackwardCore(Tensor dy, Tensor dx);
    protected abstract void AddForwardCore(Tensor a, Tensor b, Tensor y);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) { }
    public override string ToString() => $"{Name} ({Device})";
}
