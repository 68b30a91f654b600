using GrpcExplain.Classifiers;
using GrpcExplain.Explain.Generation;

namespace GrpcExplain.Explain.Directions;

/// <summary>
/// The local direction at one latent in which the target class's logit grows fastest: used per image,
/// never stored. A white-box classifier gives d(logit)/d(image), which the generator's latent gradient
/// pulls back to d(logit)/d(w); a black box is probed with antithetic random steps in W instead.
/// </summary>
public static class GradientDirection
{
    /// <summary>∇_w logit_target(G(w)), normalised; the shape of <paramref name="ws"/> (W or W+).</summary>
    public static async Task<float[]> WhiteBoxAsync(IGeneratorClient generator, IImageGradientClassifier classifier, Latents ws, int targetClass,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(ws);
        var image = await generator.SynthesizeAsync(ws, cancellationToken).ConfigureAwait(false);
        var (_, imageGradient) = await classifier.ClassLogitGradientAsync(image, targetClass, cancellationToken).ConfigureAwait(false);
        var latentGradient = await generator.LatentGradientAsync(ws, imageGradient, cancellationToken).ConfigureAwait(false);
        return Vectors.Unit([.. latentGradient.Values.Select(x => (double)x)], "The classifier's logit gradient, pulled back to the latent, is zero: the generator's image does not move the logit.");
    }

    /// <summary>
    /// An estimate of ∇_w logit_target from classifier calls alone: for K random unit directions u in W,
    /// f(w + r u) − f(w − r u) ≈ 2 r u·∇f, so Σ (f₊ − f₋) u points along the gradient (antithetic pairs
    /// cancel the even terms of f, and with them most of the noise). The directions are drawn in
    /// orthonormal blocks of up to w_dim (orthogonal probes): Σ u uᵀ is then a projector, exactly a
    /// multiple of the identity once K is a multiple of w_dim, where independent draws leave it noisy. A W+
    /// latent moves every layer by the same u, so the direction is [w_dim] either way. Costs 2K
    /// syntheses and classifications.
    /// </summary>
    /// <param name="radius">Step length r, in W units (those of the walk's alpha).</param>
    public static async Task<float[]> BlackBoxEstimateAsync(IGeneratorClient generator, IClassifier classifier, Latents ws, int targetClass,
        int probes, float radius, int seed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(ws);
        ArgumentOutOfRangeException.ThrowIfLessThan(probes, 1);
        if (!(radius > 0) || !float.IsFinite(radius)) throw new ArgumentOutOfRangeException(nameof(radius), radius, "The probe radius must be positive and finite.");
        var info = await generator.GetInfoAsync(cancellationToken).ConfigureAwait(false);
        int wDim = ws.WDim, batch = Math.Max(2, info.MaxBatchSize / 2 * 2);
        var rng = new Random(seed);
        var u = OrthogonalProbes(rng, probes, wDim);

        // Sample 2k is w + r u_k, sample 2k + 1 is w − r u_k.
        var f = new float[2 * probes];
        for (int start = 0; start < 2 * probes; start += batch)
        {
            int count = Math.Min(batch, 2 * probes - start);
            var moved = new float[count * ws.RowLength];
            for (int s = 0; s < count; s++)
            {
                int sample = start + s;
                var step = ws.Moved(u[sample / 2], sample % 2 == 0 ? radius : -radius);
                step.Values.CopyTo(moved, s * ws.RowLength);
            }
            var images = await generator.SynthesizeAsync(new Latents(moved, count, wDim, ws.NumWs), cancellationToken).ConfigureAwait(false);
            var predictions = await classifier.ClassifyAsync(images, cancellationToken).ConfigureAwait(false);
            for (int s = 0; s < count; s++) f[start + s] = Logit.Of(predictions.Probability(s, targetClass));
        }
        var gradient = new double[wDim];
        for (int k = 0; k < probes; k++)
        {
            double difference = f[2 * k] - f[2 * k + 1];
            for (int j = 0; j < wDim; j++) gradient[j] += difference * u[k][j];
        }
        return Vectors.Unit(gradient, $"The classifier's target probability did not change within {radius} of the latent in {probes} random directions: " +
            "no direction to follow (try a larger radius, or the linear probe).");
    }

    /// <summary>K unit vectors, each block of w_dim of them orthonormal (Gram–Schmidt on Gaussian draws).</summary>
    internal static float[][] OrthogonalProbes(Random rng, int count, int length)
    {
        var probes = new float[count][];
        var block = new List<double[]>();
        for (int k = 0; k < count; k++)
        {
            if (block.Count == length) block.Clear();
            double[] v;
            double norm;
            do
            {
                v = new double[length];
                for (int j = 0; j < length; j++) v[j] = Vectors.Gaussian(rng);
                foreach (var b in block)
                {
                    double dot = 0;
                    for (int j = 0; j < length; j++) dot += v[j] * b[j];
                    for (int j = 0; j < length; j++) v[j] -= dot * b[j];
                }
                norm = Math.Sqrt(v.Sum(x => x * x));
            }
            while (norm < 1e-6);
            for (int j = 0; j < length; j++) v[j] /= norm;
            block.Add(v);
            probes[k] = [.. v.Select(x => (float)x)];
        }
        return probes;
    }
}
