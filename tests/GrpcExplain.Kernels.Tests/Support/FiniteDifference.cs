namespace GrpcExplain.Kernels.Tests.Support;

/// <summary>Central finite differences in double precision, for checking the references' analytic gradients.</summary>
public static class FiniteDifference
{
    /// <summary>
    /// Small enough that the truncation error (h²·L‴/6) of the smooth ops is far below the tolerance,
    /// large enough that rounding (ε·|L|/h) is too; the piecewise-linear ops are exact away from kinks.
    /// </summary>
    public const double Step = 1e-5;

    /// <summary>Kinks (leaky ReLU at 0, clamp edges) are kept at least this far from every pre-activation, far beyond one step.</summary>
    public const double KinkMargin = 1e-3;

    /// <summary>dL/dp for every element of <paramref name="p"/>, which <paramref name="loss"/> reads; p is restored afterwards.</summary>
    public static double[] Gradient(double[] p, Func<double> loss, double h = Step)
    {
        var g = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double keep = p[i];
            p[i] = keep + h;
            double plus = loss();
            p[i] = keep - h;
            double minus = loss();
            p[i] = keep;
            g[i] = (plus - minus) / (2 * h);
        }
        return g;
    }

    /// <summary>The scalar loss L = Σ y·r whose gradient with respect to y is r.</summary>
    public static double Dot(double[] y, double[] r)
    {
        Assert.Equal(r.Length, y.Length);
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += y[i] * r[i];
        return s;
    }

    /// <summary>Checks one analytic gradient of a reference against finite differences of its loss.</summary>
    public static void Check(string what, double[] analytic, double[] p, Func<double> loss, Shape? shape = null) =>
        Accuracy.AssertClose(what, analytic, Gradient(p, loss), shape, Accuracy.GradientTolerance);

    public static void AssertAwayFromKinks(string what, double[] preActivations, params double[] kinks)
    {
        foreach (var z in preActivations)
            foreach (var k in kinks)
                Assert.True(Math.Abs(z - k) > KinkMargin,
                    $"{what}: pre-activation {z:G9} is within {KinkMargin} of the kink at {k}; pick other data so finite differences stay on one side.");
    }
}
