using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    internal struct BiasActivateArgs
    {
        public Floats X, Y, Bias, Noise, Strength, Dz;
        public int C, Hw, Batch, NoiseBatch, HasBias, HasNoise;
        public float Slope, Gain, Clamp;
    }

    internal struct NoiseGradArgs
    {
        public Floats Dz, Noise, Strength, DNoise, Products;
        public int C, Hw, Batch, NoiseBatch, HasDNoise;
    }

    private Action<Index1D, BiasActivateArgs>? _biasActivateForward, _biasActivateBackward;
    private Action<Index1D, NoiseGradArgs>? _noiseBackward;

    private BiasActivateArgs BiasActivate(Tensor x, Tensor? bias, Tensor? noise, Tensor? noiseStrength, Tensor y, BiasActivateParams p)
    {
        var (n, c, h, w) = x.Shape.Nchw;
        return new BiasActivateArgs
        {
            X = V(x), Y = V(y), Bias = VOrNone(bias), Noise = VOrNone(noise), Strength = VOrNone(noiseStrength), Dz = _none.View,
            C = c, Hw = h * w, Batch = n, NoiseBatch = noise?.Shape[0] ?? 1, HasBias = Flag(bias is not null), HasNoise = Flag(noise is not null),
            Slope = p.Slope, Gain = p.Gain, Clamp = p.Clamp,
        };
    }

    protected override void BiasActivateForwardCore(Tensor x, Tensor? bias, Tensor? noise, Tensor? noiseStrength, Tensor y, BiasActivateParams p)
    {
        _biasActivateForward ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, BiasActivateArgs>(BiasActivateForwardKernel);
        _biasActivateForward(x.Length, BiasActivate(x, bias, noise, noiseStrength, y, p));
    }

    protected override void BiasActivateBackwardCore(Tensor y, Tensor dy, Tensor? noise, Tensor? noiseStrength,
        Tensor? dx, Tensor? dBias, Tensor? dNoise, Tensor? dNoiseStrength, BiasActivateParams p)
    {
        // Here X is dy and Y the forward output; dz, the gradient at the pre-activation, goes
        // into dx when asked for (dx may be dy: each element is read before it is written).
        bool noiseGrads = noise is not null && (dNoise is not null || dNoiseStrength is not null);
        if (dx is null && dBias is null && !noiseGrads) return;
        var a = BiasActivate(dy, null, noise, noiseStrength, y, p);
        a.Dz = dx is not null ? V(dx) : Scratch(ScratchSlot.First, y.Length);
        _biasActivateBackward ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, BiasActivateArgs>(BiasActivateBackwardKernel);
        _biasActivateBackward(y.Length, a);

        if (dBias is not null) SumOverBatchAndSpace(a.Dz, V(dBias), a.Batch, a.C, a.Hw);
        if (!noiseGrads) return;
        // Noise is broadcast over channels (and over the batch when it has one sample), so its
        // gradient first sums dz over those; dStrength = Σ noise · that sum.
        var g = new NoiseGradArgs
        {
            Dz = a.Dz, Noise = a.Noise, Strength = a.Strength, DNoise = VOrNone(dNoise), Products = Scratch(ScratchSlot.Second, noise!.Length),
            C = a.C, Hw = a.Hw, Batch = a.Batch, NoiseBatch = a.NoiseBatch, HasDNoise = Flag(dNoise is not null),
        };
        _noiseBackward ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, NoiseGradArgs>(NoiseBackwardKernel);
        _noiseBackward(noise.Length, g);
        if (dNoiseStrength is not null) SumOverBatchAndSpace(g.Products, V(dNoiseStrength), 1, 1, noise.Length);
    }

    private static void BiasActivateForwardKernel(Index1D j, BiasActivateArgs a)
    {
        int plane = j / a.Hw, q = j - plane * a.Hw;
        float z = a.X[j];
        if (a.HasBias != 0) z += a.Bias[plane % a.C];
        // The strength is a device scalar: read here, so the host never waits for it.
        if (a.HasNoise != 0) z += a.Noise[(a.NoiseBatch == 1 ? 0 : plane / a.C) * a.Hw + q] * a.Strength[0];
        float v = (z > 0 ? z : a.Slope * z) * a.Gain;
        if (a.Clamp > 0) v = v > a.Clamp ? a.Clamp : v < -a.Clamp ? -a.Clamp : v;
        a.Y[j] = v;
    }

    /// <summary>dz = dy·gain·act'(z), zero where the output was clamped; y's sign is z's (gain > 0).</summary>
    private static void BiasActivateBackwardKernel(Index1D j, BiasActivateArgs a)
    {
        float y = a.Y[j];
        bool clamped = a.Clamp > 0 && MathF.Abs(y) >= a.Clamp;
        a.Dz[j] = clamped ? 0f : a.X[j] * a.Gain * (y > 0 ? 1f : a.Slope);
    }

    /// <summary>One thread per noise pixel: u = Σ dz over channels (and batch); dNoise = strength·u; Products gets u·noise.</summary>
    private static void NoiseBackwardKernel(Index1D j, NoiseGradArgs a)
    {
        int nb = j / a.Hw, q = j - nb * a.Hw;
        int first = a.NoiseBatch == 1 ? 0 : nb, last = a.NoiseBatch == 1 ? a.Batch : nb + 1;
        float u = 0;
        for (int b = first; b < last; b++)
            for (int ch = 0; ch < a.C; ch++) u += a.Dz[(b * a.C + ch) * a.Hw + q];
        if (a.HasDNoise != 0) a.DNoise[j] = a.Strength[0] * u;
        a.Products[j] = u * a.Noise[j];
    }
}
