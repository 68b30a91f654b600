namespace GrpcExplain.Training.Metrics;

/// <summary>
/// Eigen-decomposition of a real symmetric matrix (row-major, n x n, in double), for FID's matrix square
/// roots. <see cref="Decompose"/> is the fast path: Householder reduction to tridiagonal form, then the
/// implicit QL iteration with Wilkinson-style shifts (EISPACK's tred2/tql2, in the form JAMA gives them),
/// O(n^3) with a small constant. <see cref="DecomposeJacobi"/> is the slow reference it is tested against:
/// cyclic Jacobi rotations, simple enough to trust, far too slow for 512 x 512.
/// </summary>
public static class SymmetricEigen
{
    /// <summary>
    /// Eigenvalues in ascending order and, when <paramref name="vectors"/>, the unit eigenvectors as the rows
    /// of a row-major matrix (row j belongs to value j). <paramref name="a"/> must be symmetric.
    /// </summary>
    public static (double[] Values, double[]? Vectors) Decompose(ReadOnlySpan<double> a, int n, bool vectors = true)
    {
        Check(a, n);
        var v = a.ToArray();
        var d = new double[n];
        var e = new double[n];
        if (n == 0) return (d, vectors ? v : null);
        Tridiagonalize(v, d, e, n, vectors);
        QlImplicit(vectors ? v : null, d, e, n);
        return vectors ? SortAscending(d, v, n) : (d.Order().ToArray(), null);
    }

    /// <summary>The reference: cyclic Jacobi sweeps until every off-diagonal element is negligible; vectors as rows.</summary>
    public static (double[] Values, double[] Vectors) DecomposeJacobi(ReadOnlySpan<double> a, int n)
    {
        Check(a, n);
        var m = a.ToArray();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++)
                m[j * n + i] = m[i * n + j];
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, scale = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (i != j) off += m[i * n + j] * m[i * n + j];
                    else scale += m[i * n + j] * m[i * n + j];
            if (off <= 1e-30 * scale || off == 0) return SortAscending([.. Enumerable.Range(0, n).Select(i => m[i * n + i])], Transpose(v, n), n);
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = m[p * n + q];
                    if (apq == 0) continue;
                    // The rotation that zeroes m[p, q]: t = tan(theta), the smaller root of t^2 + 2 t cot(2 theta) - 1 = 0.
                    double theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double mkp = m[k * n + p], mkq = m[k * n + q];
                        m[k * n + p] = c * mkp - s * mkq;
                        m[k * n + q] = s * mkp + c * mkq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double mpk = m[p * n + k], mqk = m[q * n + k];
                        m[p * n + k] = c * mpk - s * mqk;
                        m[q * n + k] = s * mpk + c * mqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k * n + p], vkq = v[k * n + q];
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
        }
        throw new ArithmeticException($"Jacobi eigen-decomposition of a {n}x{n} matrix did not converge in 100 sweeps.");
    }

    private static void Check(ReadOnlySpan<double> a, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (a.Length != n * n) throw new ArgumentException($"a {n}x{n} matrix needs {n * n} values, got {a.Length}.", nameof(a));
        foreach (double x in a)
            if (!double.IsFinite(x)) throw new ArgumentException("the matrix holds NaN or infinity.", nameof(a));
    }

    // Householder reduction of the symmetric matrix in v to tridiagonal form: diagonal d, sub-diagonal e[1..];
    // v ends as the orthogonal transformation. v is held transposed (v[j * n + k] is row k, column j of the
    // textbook's V), so that every inner loop, here and in the QL rotations, runs along contiguous memory.
    private static void Tridiagonalize(double[] v, double[] d, double[] e, int n, bool vectors)
    {
        for (int j = 0; j < n; j++) d[j] = v[j * n + (n - 1)];
        for (int i = n - 1; i > 0; i--)
        {
            double scale = 0, h = 0;
            for (int k = 0; k < i; k++) scale += Math.Abs(d[k]);
            if (scale == 0)
            {
                e[i] = d[i - 1];
                for (int j = 0; j < i; j++)
                {
                    d[j] = v[j * n + (i - 1)];
                    v[j * n + i] = 0;
                    v[i * n + j] = 0;
                }
            }
            else
            {
                for (int k = 0; k < i; k++)
                {
                    d[k] /= scale;
                    h += d[k] * d[k];
                }
                double f = d[i - 1];
                double g = f > 0 ? -Math.Sqrt(h) : Math.Sqrt(h);
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                for (int j = 0; j < i; j++) e[j] = 0;
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    v[i * n + j] = f;
                    g = e[j] + v[j * n + j] * f;
                    for (int k = j + 1; k <= i - 1; k++)
                    {
                        g += v[j * n + k] * d[k];
                        e[k] += v[j * n + k] * f;
                    }
                    e[j] = g;
                }
                f = 0;
                for (int j = 0; j < i; j++)
                {
                    e[j] /= h;
                    f += e[j] * d[j];
                }
                double hh = f / (h + h);
                for (int j = 0; j < i; j++) e[j] -= hh * d[j];
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    g = e[j];
                    for (int k = j; k <= i - 1; k++) v[j * n + k] -= f * e[k] + g * d[k];
                    d[j] = v[j * n + (i - 1)];
                    v[j * n + i] = 0;
                }
            }
            d[i] = h;
        }
        if (!vectors)
        {
            // The diagonal of the tridiagonal form stands on v's diagonal; the transformation is not wanted.
            for (int i = 0; i < n; i++) d[i] = v[i * n + i];
            e[0] = 0;
            return;
        }
        // Accumulate the transformations.
        for (int i = 0; i < n - 1; i++)
        {
            v[i * n + (n - 1)] = v[i * n + i];
            v[i * n + i] = 1;
            double h = d[i + 1];
            if (h != 0)
            {
                for (int k = 0; k <= i; k++) d[k] = v[(i + 1) * n + k] / h;
                for (int j = 0; j <= i; j++)
                {
                    double g = DenseMath.Dot(v.AsSpan((i + 1) * n, i + 1), v.AsSpan(j * n, i + 1));
                    DenseMath.Axpy(-g, d.AsSpan(0, i + 1), v.AsSpan(j * n, i + 1));
                }
            }
            for (int k = 0; k <= i; k++) v[(i + 1) * n + k] = 0;
        }
        for (int j = 0; j < n; j++)
        {
            d[j] = v[j * n + (n - 1)];
            v[j * n + (n - 1)] = 0;
        }
        v[(n - 1) * n + (n - 1)] = 1;
        e[0] = 0;
    }

    // Implicit QL on the tridiagonal (d, e): d ends as the eigenvalues; rotations are applied to v's columns
    // when v is given (the eigenvectors), skipped when only values are wanted.
    private static void QlImplicit(double[]? v, double[] d, double[] e, int n)
    {
        for (int i = 1; i < n; i++) e[i - 1] = e[i];
        e[n - 1] = 0;
        double f = 0, tst1 = 0;
        const double eps = 2.220446049250313e-16;
        for (int l = 0; l < n; l++)
        {
            tst1 = Math.Max(tst1, Math.Abs(d[l]) + Math.Abs(e[l]));
            int m = l;
            while (m < n - 1 && Math.Abs(e[m]) > eps * tst1) m++;
            if (m > l)
            {
                int iterations = 0;
                do
                {
                    if (++iterations > 100) throw new ArithmeticException($"QL eigen iteration did not converge for eigenvalue {l} of {n}.");
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2 * e[l]);
                    double r = Hypot(p, 1);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1];
                    double h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    f += h;

                    p = d[m];
                    double c = 1, c2 = 1, c3 = 1, el1 = e[l + 1], s = 0, s2 = 0;
                    for (int i = m - 1; i >= l; i--)
                    {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = Hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        if (v is not null) DenseMath.Rotate(v.AsSpan(i * n, n), v.AsSpan((i + 1) * n, n), c, s);
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                }
                while (Math.Abs(e[l]) > eps * tst1);
            }
            d[l] += f;
            e[l] = 0;
        }
    }

    private static double Hypot(double a, double b)
    {
        a = Math.Abs(a);
        b = Math.Abs(b);
        if (a < b) (a, b) = (b, a);
        if (a == 0) return 0;
        double r = b / a;
        return a * Math.Sqrt(1 + r * r);
    }

    private static double[] Transpose(double[] a, int n)
    {
        var t = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                t[j * n + i] = a[i * n + j];
        return t;
    }

    private static (double[] Values, double[] Vectors) SortAscending(double[] d, double[] v, int n)
    {
        int[] order = [.. Enumerable.Range(0, n).OrderBy(i => d[i])];
        var values = new double[n];
        var vectors = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            values[j] = d[order[j]];
            v.AsSpan(order[j] * n, n).CopyTo(vectors.AsSpan(j * n, n));
        }
        return (values, vectors);
    }
}
