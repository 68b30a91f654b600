using GrpcExplain.Kernels;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.StyleGan;

/// <summary>How the synthesis layers get their noise: the stored noise_const maps, fresh Gaussian noise, or none.</summary>
public enum NoiseMode { Const, Random, None }

/// <summary>
/// A StyleGAN2 generator (mapping and synthesis) on one kernel backend, faithful to NVIDIA's
/// stylegan2-ada-pytorch in float32: the same weights, latents and noise give the same images.
/// </summary>
public sealed partial class Generator : IDisposable
{
    /// <summary>z [N, z_dim] (and c [N, c_dim] when conditional) → ws [N, num_ws, w_dim], truncated towards w_avg.</summary>
    public float[] Map(float[] z, int batch, float[]? c = null, float truncationPsi = 1f, int? truncationCutoff = null) =>
        throw new NotImplementedException();

    /// <summary>
    /// ws as [N, w_dim] (one w per sample, used by every layer) or [N, num_ws, w_dim] (W+) → the network's
    /// raw output [N, img_channels, res, res], nominally in [-1, 1], unclamped.
    /// </summary>
    public float[] Synthesize(float[] ws, int batch, NoiseMode noise = NoiseMode.Const, int noiseSeed = 0) =>
        throw new NotImplementedException();
}
