namespace GrpcExplain.StyleGan.Training;

/// <summary>
/// The R1 penalty's parts for one batch of reals: Penalty[n] = ‖∇ₓ Σ D(x)‖² over sample n, the
/// gradient of ½ Σₙ Penalty[n] with respect to every parameter, the step ε used, and how many
/// activations changed their leaky-ReLU side or clamp state between x − εg and x + εg (each one that
/// does makes the estimate wrong for the parameters it touches; 0 means the estimate is as good as
/// float32 rounding allows).
/// </summary>
public sealed record R1Result(float[] Penalty, IReadOnlyDictionary<string, float[]> Gradient, double Epsilon, int KinkCrossings);

/// <summary>
/// R1 (Mescheder et al. 2018) as stylegan2-ada-pytorch's loss takes it: g = ∇ₓ Σₙ D(xₙ) (the sum
/// over the batch, as minibatch stddev couples a group's samples), penalty ‖gₙ‖² per sample, and the
/// loss (γ/2)·mean(penalty) applied every <c>interval</c> minibatches scaled by the interval (lazy
/// regularisation): the caller multiplies <see cref="R1Result.Gradient"/> by γ·interval/N.
///
/// The gradient of a gradient, two ways. ∇θ ½‖g‖² = (∂g/∂θ)ᵀg = ∇θ∇ₓS·g with g held fixed, the
/// Hessian-vector product along g.
///
/// <see cref="ComputeExact"/> (use this one): forward-over-reverse, a tangent pass along g with the
/// recorded activation pattern and two backward passes, exact as PyTorch's double backward (within
/// 2e-6 of the largest element on the fixtures), about the cost of two forward and three backward passes.
///
/// <see cref="Compute"/>: what the issue proposes, central differences
/// (∇θ S(x + εg) − ∇θ S(x − εg)) / 2ε, S = Σₙ D(xₙ): three recorded passes and three backward passes.
///
/// The step: ε = r·‖x‖/‖g‖ moves the images by the fraction r of their norm whatever the scale of D's
/// gradient (which changes by orders of magnitude during training). Two errors bound r. D is
/// piecewise linear in x apart from the minibatch stddev, so between kinks the difference is exact up
/// to O(ε²) from the stddev; but an activation whose leaky-ReLU input crosses 0 (or that reaches the
/// clamp) inside ±εg adds an error of order one for the parameters it touches, so r must be small
/// enough that none does. Below that, the float32 rounding of ∇θS (and of x ± εg itself) is divided
/// by 2ε and grows like 1/r. Measured on the discriminator32 fixture against float64 double
/// backward (tools/stylegan2/make_discriminator_fixtures.py): r = 1e-6 → 7e-2, 3e-6 → 3e-2,
/// 1e-5 → 8e-3, 3e-5 → 4e-3 (max error / max |exact|), and from 1e-4 on a kink is crossed (error ~1).
/// The default 1e-5 keeps a margin below the first crossing; <see cref="R1Result.KinkCrossings"/> says
/// whether a batch crossed one anyway. It will at training size: the crossings expected grow with
/// the number of activations times r (about one at r = 1e-5 for the 32x32 fixture's 1.2·10⁵
/// activations, thousands for a 256x256 discriminator at batch 32), and float32 leaves no smaller r
/// usable, so the estimate is then dominated by kinks, not by the Hessian autograd would give: a
/// 32x32 discriminator with NVIDIA's channel counts (channel_base 16384, 512 channels) at NVIDIA's
/// initialisation and a batch of 4 crossed 40 and was 400 times the exact gradient's largest element
/// off. Kept as the reference and a cross-check of the exact path on small networks.
/// </summary>
public static class R1Regularization
{
    public const double DefaultRelativeStep = 1e-5;

    /// <summary>
    /// The exact value, as PyTorch's double backward gives it (leaky ReLU's second derivative 0), by a
    /// tangent pass and two backward passes (<see cref="Discriminator"/>'s forward-over-reverse): no
    /// step, no kinks, float32 rounding only. Epsilon and KinkCrossings are 0.
    /// </summary>
    public static R1Result ComputeExact(Discriminator d, float[] reals, int n)
    {
        ArgumentNullException.ThrowIfNull(d);
        var (g, gradient) = d.R1Exact(reals, n);
        return new R1Result(Penalty(g, n), gradient, 0, 0);
    }

    /// <summary>The finite-difference estimate (see the class summary for the step and its limits).</summary>
    public static R1Result Compute(Discriminator d, float[] reals, int n, double relativeStep = DefaultRelativeStep)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (!(relativeStep > 0) || !double.IsFinite(relativeStep))
            throw new ArgumentOutOfRangeException(nameof(relativeStep), relativeStep, "The relative step must be positive.");
        var ones = Enumerable.Repeat(1f, n).ToArray();
        float[] g;
        using (var pass = d.Record(reals, n)) g = pass.Backward(ones, parameters: false, images: true).Images!;
        var penalty = Penalty(g, n);
        double gNorm = Math.Sqrt(penalty.Sum(p => (double)p)), xNorm = Math.Sqrt(reals.Sum(v => (double)v * v));
        if (gNorm == 0) // D does not depend on x here: the penalty and its gradient are zero.
            return new R1Result(penalty, d.Config.ParameterShapes().ToDictionary(p => p.Name, p => new float[Kernels.HostTensor.Count(p.Shape)]), 0, 0);
        double eps = relativeStep * Math.Max(xNorm, 1e-3) / gNorm;

        var plus = new float[reals.Length];
        var minus = new float[reals.Length];
        for (int j = 0; j < reals.Length; j++)
        {
            plus[j] = (float)(reals[j] + eps * g[j]);
            minus[j] = (float)(reals[j] - eps * g[j]);
        }
        using var passPlus = d.Record(plus, n);
        using var passMinus = d.Record(minus, n);
        var gradPlus = passPlus.Backward(ones, parameters: true, images: false).Parameters!;
        var gradMinus = passMinus.Backward(ones, parameters: true, images: false).Parameters!;
        var gradient = new Dictionary<string, float[]>();
        foreach (var (name, a) in gradPlus)
        {
            var b = gradMinus[name];
            var h = new float[a.Length];
            for (int j = 0; j < a.Length; j++) h[j] = (float)(((double)a[j] - b[j]) / (2 * eps));
            gradient[name] = h;
        }
        return new R1Result(penalty, gradient, eps, KinkCrossings(d, passPlus, passMinus));
    }

    private static float[] Penalty(float[] g, int n)
    {
        int perSample = g.Length / n;
        var penalty = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = i * perSample; j < (i + 1) * perSample; j++) s += (double)g[j] * g[j];
            penalty[i] = (float)s;
        }
        return penalty;
    }

    /// <summary>Activations on a different side of a leaky ReLU's kink, or of the clamp, in the two passes.</summary>
    private static int KinkCrossings(Discriminator d, DiscriminatorPass a, DiscriminatorPass b)
    {
        int crossings = 0;
        var acts = a.Tape.Activations;
        var others = b.Tape.Activations;
        for (int l = 0; l < acts.Count; l++)
        {
            var (ya, act) = acts[l];
            if (act.Slope == 1f && act.Clamp <= 0) continue; // linear and unclamped: no kink
            float[] u = d.Backend.Download(ya), v = d.Backend.Download(others[l].Y);
            float clamp = act.Clamp > 0 ? act.Clamp : float.PositiveInfinity;
            for (int j = 0; j < u.Length; j++)
                if ((u[j] > 0) != (v[j] > 0) || (Math.Abs(u[j]) >= clamp) != (Math.Abs(v[j]) >= clamp)) crossings++;
        }
        return crossings;
    }
}
