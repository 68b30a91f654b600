namespace GrpcExplain.Kernels;

/// <summary>
/// How one convolution is laid out for the three implicit-GEMM primitives every backend provides.
/// The primitives all describe one forward convolution
/// y[n, co, oy, ox] = gain · Σ_{ci, ky, kx} x[n, ci, oy·S + ky − P, ox·S + kx − P] · Wc[co, ci, ky, kx],
/// with Wc stored as [co, ci, k, k], or as [ci, co, k, k] when <see cref="WeightTransposed"/>
/// (that is how a transposed convolution reuses its weight).
/// </summary>
internal sealed record ConvGeometry(int Stride, int Padding, bool WeightTransposed = false, float Gain = 1f);

public abstract partial class Backend
{
    // The convolution ops are composed here once from backend primitives, so the chain rule of
    // modulation and demodulation is written in one place and every backend shares it.

    private void Conv2dForwardCore(Tensor x, Tensor weight, Tensor y, Conv2dParams p) =>
        ConvForwardCore(x, weight, y, new ConvGeometry(p.Stride, p.Padding, Gain: p.WeightGain), null, null);

    private void Conv2dBackwardCore(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dWeight, Conv2dParams p)
    {
        var g = new ConvGeometry(p.Stride, p.Padding, Gain: p.WeightGain);
        if (dx is not null) ConvBackwardDataCore(dy, weight, dx, g, null, null);
        if (dWeight is not null) ConvBackwardWeightCore(x, dy, dWeight, g, null, null);
    }

    /// <summary>
    /// Not fused per sample: x·s, a convolution with the shared weight, then ·d per output channel,
    /// the scales folded into the primitives' operand loads and stores. The upsampling variant is the
    /// stride-2 transposed convolution (the backward-data primitive of a stride-2 convolution whose
    /// weight is W transposed) followed by the FIR filter.
    /// </summary>
    private void ModulatedConv2dForwardCore(Tensor x, Tensor weight, Tensor styles, Tensor y, ModulatedConv2dParams p, ConvEpilogue? epilogue)
    {
        int n = x.Shape[0], outC = weight.Shape[0], k = weight.Shape[2];
        using var d = p.Demodulate ? AllocateCore(new Shape(n, outC)) : null;
        if (d is not null) DemodulateCore(weight, styles, d);
        if (!p.Up)
        {
            ConvForwardCore(x, weight, y, new ConvGeometry(1, k / 2), styles, d, epilogue);
            return;
        }
        UpConvolutionCore(x, weight, y, styles, d, epilogue);
    }

    /// <summary>
    /// y = bias_act(FIR(convᵀ(x·inScale, W)·outScale)): the 2x-upsampling convolution as NVIDIA computes
    /// it, the stride-2 transposed convolution onto a (2H+1)² map and then the [1,3,3,1] filter with
    /// padding 1 and gain 4. A backend may fuse the steps (the CPU backend filters the phases directly).
    /// </summary>
    internal virtual void UpConvolutionCore(Tensor x, Tensor weight, Tensor y, Tensor? inScale, Tensor? outScale, ConvEpilogue? epilogue)
    {
        var (n, _, h, w) = x.Shape.Nchw;
        using var t = AllocateCore(new Shape(n, weight.Shape[0], 2 * h + 1, 2 * w + 1));
        ConvBackwardDataCore(x, weight, t, UpGeometry, inScale, outScale);
        Upfirdn2dForwardCore(t, y, ModulatedConv2dParams.UpFilter, epilogue);
    }

    private void ModulatedConv2dBackwardCore(Tensor x, Tensor weight, Tensor styles, Tensor y, Tensor dy,
        Tensor? dx, Tensor? dWeight, Tensor? dStyles, ModulatedConv2dParams p)
    {
        var (n, _, h, w) = x.Shape.Nchw;
        int outC = weight.Shape[0], k = weight.Shape[2];
        using var d = p.Demodulate ? AllocateCore(new Shape(n, outC)) : null;
        if (d is not null) DemodulateCore(weight, styles, d);

        // Gradient of the convolution's output before ·d: dy·d (for Up, first through the FIR filter).
        using var dt = p.Up ? AllocateCore(new Shape(n, outC, 2 * h + 1, 2 * w + 1)) : null;
        if (dt is not null) Upfirdn2dBackwardCore(dy, dt, ModulatedConv2dParams.UpFilter);
        var dConv = dt ?? dy;

        if (dx is not null || dStyles is not null)
        {
            using var dxs = AllocateCore(x.Shape); // gradient with respect to x·s
            if (p.Up) ConvForwardCore(dConv, weight, dxs, UpGeometry, d, null);
            else ConvBackwardDataCore(dConv, weight, dxs, new ConvGeometry(1, k / 2), d, null);
            ModulateBackwardCore(x, dxs, styles, dx, dStyles);
        }
        if (dWeight is not null)
        {
            if (p.Up) ConvBackwardWeightCore(dConv, x, dWeight, UpGeometry, d, styles);
            else ConvBackwardWeightCore(x, dConv, dWeight, new ConvGeometry(1, k / 2), styles, d);
        }
        if (d is not null) DemodulateBackwardCore(weight, styles, d, y, dy, dStyles, dWeight);
    }

    /// <summary>The stride-2 convolution whose backward-data pass is the upsampling transposed convolution.</summary>
    internal static readonly ConvGeometry UpGeometry = new(Stride: 2, Padding: 0, WeightTransposed: true);

    // Primitives ---------------------------------------------------------------------------------
    // Scales are optional [N, channels] tensors multiplying an operand per sample and channel.

    /// <summary>y = conv(x·inScale, W)·outScale.</summary>
    internal abstract void ConvForwardCore(Tensor x, Tensor weight, Tensor y, ConvGeometry g, Tensor? inScale, Tensor? outScale);

    /// <summary>y = bias_act(conv(x·inScale, W)·outScale); a backend that can fuses the epilogue into the store.</summary>
    internal virtual void ConvForwardCore(Tensor x, Tensor weight, Tensor y, ConvGeometry g, Tensor? inScale, Tensor? outScale, ConvEpilogue? epilogue)
    {
        ConvForwardCore(x, weight, y, g, inScale, outScale);
        ApplyEpilogue(y, epilogue);
    }

    /// <summary>y = bias_act(upfirdn2d(x)); a backend that can fuses the epilogue into the filter's pass.</summary>
    internal virtual void Upfirdn2dForwardCore(Tensor x, Tensor y, Upfirdn2dParams p, ConvEpilogue? epilogue)
    {
        Upfirdn2dForwardCore(x, y, p);
        ApplyEpilogue(y, epilogue);
    }

    private protected void ApplyEpilogue(Tensor y, ConvEpilogue? e)
    {
        if (e is not null) BiasActivateForwardCore(y, e.Bias, e.Noise, e.NoiseStrength, y, e.Params);
    }

    /// <summary>dx = (convᵀ(dy·dyScale, W))·dxScale: the transposed convolution, onto dx's full shape.</summary>
    internal abstract void ConvBackwardDataCore(Tensor dy, Tensor weight, Tensor dx, ConvGeometry g, Tensor? dyScale, Tensor? dxScale);

    /// <summary>dW = Σ_n correlation of dy·dyScale with x·xScale, stored in the geometry's weight layout.</summary>
    internal abstract void ConvBackwardWeightCore(Tensor x, Tensor dy, Tensor dWeight, ConvGeometry g, Tensor? xScale, Tensor? dyScale);

    /// <summary>d[n, o] = rsqrt(Σ_{i,k} (W[o,i,k]·s[n,i])² + 1e-8).</summary>
    internal abstract void DemodulateCore(Tensor weight, Tensor styles, Tensor d);

    /// <summary>From the gradient dxs of x·s: dx = dxs·s and dStyles[n, i] = Σ_p dxs·x (overwritten).</summary>
    internal abstract void ModulateBackwardCore(Tensor x, Tensor dxs, Tensor styles, Tensor? dx, Tensor? dStyles);

    /// <summary>
    /// Adds demodulation's share of the gradients. With dd[n,o] = Σ_p dy·y/d and g = −dd·d³:
    /// dStyles[n,i] += s[n,i]·Σ_o g[n,o]·Σ_k W[o,i,k]², dWeight[o,i,k] += W[o,i,k]·Σ_n g[n,o]·s[n,i]².
    /// </summary>
    internal abstract void DemodulateBackwardCore(Tensor weight, Tensor styles, Tensor d, Tensor y, Tensor dy, Tensor? dStyles, Tensor? dWeight);
}
