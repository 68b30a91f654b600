namespace GrpcExplain.Kernels.Ilgpu;

// The three convolution primitives as implicit GEMMs over one forward convolution
// y[n, co, oy, ox] = Σ_{ci, ky, kx} x[n, ci, oy·S + ky − P, ox·S + kx − P]·Wc[co, ci, ky, kx],
// Wc stored [co, ci, k, k], or [ci, co, k, k] when transposed. Only index arithmetic lives here;
// scales and gain are the GEMM's operand and epilogue flags.

/// <summary>
/// A lowering as GEMM v2 takes it: it also says whether A can come with a scale (only the weight
/// gradient's dy·d), so that v2 keeps A's scales in registers only for that primitive.
/// </summary>
internal interface IConvLoweringV2 : IConvLowering
{
    bool ScalesA { get; }
}

/// <summary>
/// Forward: C[co, (n, oy, ox)] = Σ_{(ci, ky, kx)} Wc[co, ci, ky, kx]·x[n, ci, oy·S + ky − P, ox·S + kx − P].
/// A is the weight (AStrideM = ci·k² plain, k² transposed), B the input image, C the output image.
/// </summary>
internal struct ForwardLowering : IConvLoweringV2
{
    public int InC, OutC, H, W, OutW, OutHw, Stride, Padding, KernelSize, Transposed;

    public readonly bool ScalesA => false;

    public readonly GemmColumn Column(int col)
    {
        int n = col / OutHw, p = col - n * OutHw, oy = p / OutW, ox = p - oy * OutW;
        return new GemmColumn
        {
            SrcOffset = n * InC * H * W, Y = oy * Stride - Padding, X = ox * Stride - Padding, ScaleOffset = n * InC,
            OutOffset = n * OutC * OutHw + p, OutScaleOffset = n * OutC,
        };
    }

    public readonly GemmRow Row(int k)
    {
        int taps = KernelSize * KernelSize, ci = k / taps, t = k - ci * taps, ky = t / KernelSize;
        return new GemmRow
        {
            AOffset = Transposed != 0 ? ci * OutC * taps + t : k,
            SrcOffset = ci * H * W, Dy = ky, Dx = t - ky * KernelSize, ScaleOffset = ci,
        };
    }
}

/// <summary>
/// Backward data (the transposed convolution), one launch per phase class: the pixels of dx with
/// (iy + P) mod S = ry and (ix + P) mod S = rx receive only taps ky ≡ ry, kx ≡ rx (mod S), so each
/// class is a dense convolution over those taps and a stride-2 transposed convolution does no
/// multiply by an inserted zero. With iy + P = S·qy + ry and ky = ry + S·jy the source pixel is
/// dy[n, co, qy − jy, qx − jx]:
/// C[ci, (n, ty, tx)] = Σ_{(co, jy, jx)} Wc[co, ci, ky, kx]·dy[n, co, qy − jy, qx − jx],
/// where iy = FirstY + S·ty, qy = FirstQy + ty. A is the weight (AStrideM = k² plain, co·k² transposed).
/// </summary>
internal struct BackwardDataLowering : IConvLoweringV2
{
    public int InC, OutC, H, W, OutH, OutW, Stride, KernelSize, Transposed;
    public int Rx, Ry, FirstX, FirstY, FirstQx, FirstQy, ClassW, ClassHw, TapsX, TapsXY;

    public readonly bool ScalesA => false;

    public readonly GemmColumn Column(int col)
    {
        int n = col / ClassHw, t = col - n * ClassHw, ty = t / ClassW, tx = t - ty * ClassW;
        int iy = FirstY + Stride * ty, ix = FirstX + Stride * tx;
        return new GemmColumn
        {
            SrcOffset = n * OutC * OutH * OutW, Y = FirstQy + ty, X = FirstQx + tx, ScaleOffset = n * OutC,
            OutOffset = n * InC * H * W + iy * W + ix, OutScaleOffset = n * InC,
        };
    }

    public readonly GemmRow Row(int k)
    {
        int co = k / TapsXY, t = k - co * TapsXY, jy = t / TapsX, jx = t - jy * TapsX;
        int tap = (Ry + Stride * jy) * KernelSize + Rx + Stride * jx, taps = KernelSize * KernelSize;
        return new GemmRow
        {
            AOffset = Transposed != 0 ? co * taps + tap : co * InC * taps + tap,
            SrcOffset = co * OutH * OutW, Dy = -jy, Dx = -jx, ScaleOffset = co,
        };
    }
}

/// <summary>
/// Backward weight: C[co, (ci, ky, kx)] = Σ_{(n, oy, ox)} dy[n, co, oy, ox]·x[n, ci, oy·S + ky − P, ox·S + kx − P].
/// A is dy (AStrideM = OH·OW, its scale indexed by the sample of k), B the input image, C the
/// weight gradient, in Wc's layout (OutStrideM = ci·k² plain, k² transposed).
/// </summary>
internal struct BackwardWeightLowering : IConvLoweringV2
{
    public int InC, OutC, H, W, OutW, OutHw, Stride, Padding, KernelSize, Transposed;

    public readonly bool ScalesA => true;

    public readonly GemmColumn Column(int col)
    {
        int taps = KernelSize * KernelSize, ci = col / taps, t = col - ci * taps, ky = t / KernelSize;
        return new GemmColumn
        {
            SrcOffset = ci * H * W, Y = ky - Padding, X = t - ky * KernelSize - Padding, ScaleOffset = ci,
            OutOffset = Transposed != 0 ? ci * OutC * taps + t : col,
        };
    }

    public readonly GemmRow Row(int k)
    {
        int n = k / OutHw, p = k - n * OutHw, oy = p / OutW;
        return new GemmRow
        {
            AOffset = n * OutC * OutHw + p, AScaleOffset = n * OutC,
            SrcOffset = n * InC * H * W, Dy = oy * Stride, Dx = (p - oy * OutW) * Stride, ScaleOffset = n * InC,
        };
    }
}
