namespace GrpcExplain.Kernels.Tests.Support;

/// <summary>Seeded random data, and conversions between the float32 the kernels see and the double the references use.</summary>
public static class TestData
{
    /// <summary>A generator seeded from a name (FNV-1a), so each case gets its own stable data in every process.</summary>
    public static Random Rng(string name)
    {
        uint h = 2166136261;
        foreach (char ch in name) h = (h ^ ch) * 16777619;
        return new Random((int)(h & 0x7fffffff));
    }

    /// <summary>Normally distributed values, mean <paramref name="mean"/>, standard deviation <paramref name="std"/>.</summary>
    public static float[] Normal(Random rng, int count, double std = 1, double mean = 0)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            a[i] = (float)(mean + std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return a;
    }

    public static float[] Uniform(Random rng, int count, double lo, double hi)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++) a[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return a;
    }

    public static double[] NormalDouble(Random rng, int count, double std = 1) => ToDouble(Normal(rng, count, std));

    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    public static float[] ToFloat(double[] a) => Array.ConvertAll(a, v => (float)v);

    public static float[] Filled(int count, float value)
    {
        var a = new float[count];
        Array.Fill(a, value);
        return a;
    }
}
