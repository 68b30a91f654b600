namespace GrpcExplain.StyleGan.Training;

/// <summary>Adam's moments and step count, to checkpoint and restore: m and v in the parameters' order.</summary>
public sealed record AdamState(IReadOnlyList<float[]> M, IReadOnlyList<float[]> V, int Step);

/// <summary>
/// Adam over a fixed list of parameter arrays, updated in place, step for step as torch.optim.Adam
/// (no weight decay, not AMSGrad): bias corrections 1 − β^t, eps added after dividing √v by √(1 − β2^t).
/// Each parameter may carry its own learning-rate multiplier (a parameter group's lr, as torch's
/// param_groups give it). The moments are kept in float32, as PyTorch keeps them for float32
/// parameters, so a checkpoint of <see cref="State"/> resumes bit for bit.
/// </summary>
public sealed class Adam
{
    private readonly IReadOnlyList<float[]> _parameters;
    private readonly double[] _lrMultipliers;
    private readonly float[][] _m;
    private readonly float[][] _v;

    /// <param name="lrMultipliers">One per parameter (default 1 each): the step of parameter k uses lr·multiplier[k].</param>
    public Adam(IReadOnlyList<float[]> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, IReadOnlyList<double>? lrMultipliers = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "β1 must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "β2 must be in [0, 1).");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive.");
        if (lrMultipliers is not null && lrMultipliers.Count != parameters.Count)
            throw new ArgumentException($"{lrMultipliers.Count} learning-rate multipliers for {parameters.Count} parameters.", nameof(lrMultipliers));
        _parameters = parameters;
        _lrMultipliers = lrMultipliers is null ? [.. Enumerable.Repeat(1.0, parameters.Count)] : [.. lrMultipliers];
        (Beta1, Beta2, Epsilon) = (beta1, beta2, eps);
        _m = [.. parameters.Select(p => new float[p.Length])];
        _v = [.. parameters.Select(p => new float[p.Length])];
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }

    /// <summary>Steps taken (torch's state['step']).</summary>
    public int StepCount { get; private set; }

    /// <summary>One step with learning rate <paramref name="lr"/>; gradients in the parameters' order.</summary>
    public void Step(double lr, IReadOnlyList<float[]> gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (gradients.Count != _parameters.Count) throw new ArgumentException($"{gradients.Count} gradients for {_parameters.Count} parameters.", nameof(gradients));
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), sqrtBc2 = Math.Sqrt(1 - Math.Pow(Beta2, StepCount));
        for (int k = 0; k < _parameters.Count; k++)
        {
            float[] p = _parameters[k], g = gradients[k], m = _m[k], v = _v[k];
            if (g.Length != p.Length) throw new ArgumentException($"Gradient {k} holds {g.Length} values for a parameter of {p.Length}.", nameof(gradients));
            double stepSize = lr * _lrMultipliers[k] / bc1;
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = (float)(Beta1 * m[i] + (1 - Beta1) * g[i]);
                v[i] = (float)(Beta2 * v[i] + (1 - Beta2) * g[i] * g[i]);
                p[i] -= (float)(stepSize * m[i] / (Math.Sqrt(v[i]) / sqrtBc2 + Epsilon));
            }
        }
    }

    /// <summary>A copy of the moments and the step count.</summary>
    public AdamState State => new([.. _m.Select(a => (float[])a.Clone())], [.. _v.Select(a => (float[])a.Clone())], StepCount);

    /// <summary>Continues from <paramref name="state"/> (as <see cref="State"/> gave it for the same parameters).</summary>
    public void Restore(AdamState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.M.Count != _m.Length || state.V.Count != _v.Length)
            throw new ArgumentException($"The state holds moments for {state.M.Count} and {state.V.Count} parameters; this optimiser has {_m.Length}.", nameof(state));
        if (state.Step < 0) throw new ArgumentException($"The state's step count is negative ({state.Step}).", nameof(state));
        for (int k = 0; k < _m.Length; k++)
        {
            if (state.M[k].Length != _m[k].Length || state.V[k].Length != _v[k].Length)
                throw new ArgumentException($"Moment {k} holds {state.M[k].Length} and {state.V[k].Length} values for a parameter of {_m[k].Length}.", nameof(state));
            state.M[k].CopyTo(_m[k], 0);
            state.V[k].CopyTo(_v[k], 0);
        }
        StepCount = state.Step;
    }
}
