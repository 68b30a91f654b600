using GrpcExplain.Kernels;

namespace GrpcExplain.StyleGan.Training;

/// <summary>
/// MinibatchStdLayer on the host (the backend has no op for it; at 4x4 it is a few thousand floats):
/// samples i = g·(N/G) + m form group m (NVIDIA's reshape(G, -1, F, c, H, W)); per group, feature
/// f and position q, s_q = √(var_g x + 1e-8) over the group's G samples; std[m, f], the mean of s_q
/// over the c channels and H·W pixels of the feature, is appended as channel C + f of every sample
/// in the group. Besides forward and backward, the tangent (forward-mode derivative along t) and
/// the second-order term the exact R1 gradient needs.
/// </summary>
internal static class MinibatchStdLayer
{
    public static int GroupSize(int groupSize, int n)
    {
        int g = Math.Min(groupSize, n);
        if (n % g != 0) throw new ArgumentException($"The minibatch standard deviation needs a batch divisible by its group size {g}; got a batch of {n}.", nameof(n));
        return g;
    }

    /// <summary>x [N, C, H, W] → [N, C + F, H, W].</summary>
    public static float[] Forward(float[] x, Shape shape, int groupSize, int features)
    {
        var l = new Layout(shape, groupSize, features);
        var std = new double[l.Groups * features];
        l.ForEachPosition(x, (m, q, mu, s) => std[m * features + l.Feature(q)] += s / l.PerFeature);
        return l.Append(x, std);
    }

    /// <summary>dL/dx from dL/dy [N, C + F, H, W]: the first C channels pass through, the appended ones flow back through the standard deviation.</summary>
    public static float[] Backward(float[] x, Shape shape, float[] dy, int groupSize, int features)
    {
        var l = new Layout(shape, groupSize, features);
        var dx = l.Leading(dy);
        var dStd = l.AppendedGradient(dy);
        // ∂s_q/∂x_k = (x_k − μ_q) / (G·s_q).
        l.ForEachPosition(x, (m, q, mu, s) =>
        {
            double c = dStd[m * features + l.Feature(q)] / l.PerFeature / (l.G * s);
            for (int k = 0; k < l.G; k++) dx[l.At(k, m, q)] += (float)(c * (x[l.At(k, m, q)] - mu));
        });
        return dx;
    }

    /// <summary>The derivative of Forward at x along t: t itself, and Σ_q ∂std/∂x·t in the appended channels.</summary>
    public static float[] Tangent(float[] x, float[] t, Shape shape, int groupSize, int features)
    {
        var l = new Layout(shape, groupSize, features);
        var dStd = new double[l.Groups * features];
        l.ForEachPosition(x, (m, q, mu, s) =>
        {
            double p = 0;
            for (int k = 0; k < l.G; k++) p += (x[l.At(k, m, q)] - mu) * t[l.At(k, m, q)];
            dStd[m * features + l.Feature(q)] += p / (l.G * s) / l.PerFeature;
        });
        return l.Append(t, dStd);
    }

    /// <summary>
    /// ∂/∂x of Σ dy·Tangent(x, t), t fixed: with P_q = Σ_k (x_k − μ)·t_k and c = dL/dstd / (c·H·W·G),
    /// ∂(c·P_q/s_q)/∂x_k = c·((t_k − t̄)/s_q − P_q·(x_k − μ)/(G·s_q³)). The first C channels are linear: no term.
    /// </summary>
    public static float[] SecondOrder(float[] x, float[] t, float[] dy, Shape shape, int groupSize, int features)
    {
        var l = new Layout(shape, groupSize, features);
        var dStd = l.AppendedGradient(dy);
        var u = new float[x.Length];
        l.ForEachPosition(x, (m, q, mu, s) =>
        {
            double p = 0, tMean = 0;
            for (int k = 0; k < l.G; k++)
            {
                p += (x[l.At(k, m, q)] - mu) * t[l.At(k, m, q)];
                tMean += t[l.At(k, m, q)];
            }
            tMean /= l.G;
            double c = dStd[m * features + l.Feature(q)] / l.PerFeature / l.G;
            for (int k = 0; k < l.G; k++)
                u[l.At(k, m, q)] = (float)(c * ((t[l.At(k, m, q)] - tMean) / s - p * (x[l.At(k, m, q)] - mu) / (l.G * s * s * s)));
        });
        return u;
    }

    /// <summary>Indexing of the groups: member k of group m at position q (channel·H·W + pixel).</summary>
    private sealed class Layout
    {
        public Layout(Shape shape, int groupSize, int features)
        {
            (N, C, int h, int w) = shape.Nchw;
            Plane = h * w;
            G = GroupSize(groupSize, N);
            Groups = N / G;
            F = features;
            PerFeature = C / features * Plane;
        }

        public int N { get; }
        public int C { get; }
        public int Plane { get; }
        public int G { get; }
        public int Groups { get; }
        public int F { get; }
        public int PerFeature { get; }

        public int At(int k, int m, int q) => (k * Groups + m) * C * Plane + q;
        public int Feature(int q) => q / PerFeature;

        /// <summary>Calls body(group, position, mean, s) for every group and position.</summary>
        public void ForEachPosition(float[] x, Action<int, int, double, double> body)
        {
            for (int m = 0; m < Groups; m++)
                for (int q = 0; q < C * Plane; q++)
                {
                    double mu = 0, v = 0;
                    for (int k = 0; k < G; k++) mu += x[At(k, m, q)];
                    mu /= G;
                    for (int k = 0; k < G; k++) v += (x[At(k, m, q)] - mu) * (x[At(k, m, q)] - mu);
                    body(m, q, mu, Math.Sqrt(v / G + 1e-8));
                }
        }

        /// <summary>[N, C + F, H, W]: x, then per sample its group's values broadcast over the pixels.</summary>
        public float[] Append(float[] x, double[] perGroup)
        {
            var y = new float[N * (C + F) * Plane];
            for (int i = 0; i < N; i++)
            {
                Array.Copy(x, i * C * Plane, y, i * (C + F) * Plane, C * Plane);
                for (int f = 0; f < F; f++) Array.Fill(y, (float)perGroup[(i % Groups) * F + f], (i * (C + F) + C + f) * Plane, Plane);
            }
            return y;
        }

        /// <summary>The first C channels of dy [N, C + F, H, W].</summary>
        public float[] Leading(float[] dy)
        {
            var dx = new float[N * C * Plane];
            for (int i = 0; i < N; i++) Array.Copy(dy, i * (C + F) * Plane, dx, i * C * Plane, C * Plane);
            return dx;
        }

        /// <summary>dL/dstd[m, f]: the appended channels' gradient summed over the group's samples and the pixels.</summary>
        public double[] AppendedGradient(float[] dy)
        {
            var d = new double[Groups * F];
            for (int i = 0; i < N; i++)
                for (int f = 0; f < F; f++)
                    for (int p = 0; p < Plane; p++) d[(i % Groups) * F + f] += dy[(i * (C + F) + C + f) * Plane + p];
            return d;
        }
    }
}
