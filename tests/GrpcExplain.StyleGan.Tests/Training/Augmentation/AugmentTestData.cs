using GrpcExplain.StyleGan.Training.Augmentation;

namespace GrpcExplain.StyleGan.Tests.Training.Augmentation;

/// <summary>Inputs and a plain reference for the augmentation tests.</summary>
internal static class AugmentTestData
{
    public static float[] Images(int n, int channels, int size, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * channels * size * size];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    public static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>
    /// The geometry done the slow, obvious way, one step after another on a 2-D array: mirror the
    /// columns, turn a quarter counter-clockwise k times (numpy's rot90: B[i, j] = A[j, n-1-i]), pad by
    /// mirroring rows and columns about the edge pixel (torch's 'reflect'), and cut the shifted window.
    /// </summary>
    public static float[,] ReferenceGeometry(float[,] image, SampleDraw d)
    {
        int n = image.GetLength(0);
        var a = (float[,])image.Clone();
        if (d.XFlip)
        {
            var f = new float[n, n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) f[i, j] = a[i, n - 1 - j];
            a = f;
        }
        for (int r = 0; r < d.Rotation; r++)
        {
            var b = new float[n, n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) b[i, j] = a[j, n - 1 - i];
            a = b;
        }
        int pad = Math.Max(Math.Abs(d.TranslateX), Math.Abs(d.TranslateY));
        if (pad >= n) throw new ArgumentException("the reference pads once: shifts must be below the size");
        var padded = new float[n + 2 * pad, n + 2 * pad];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) padded[i + pad, j + pad] = a[i, j];
        for (int i = pad; i < pad + n; i++) // mirror columns of the original rows
            for (int k = 1; k <= pad; k++)
            {
                padded[i, pad - k] = padded[i, pad + k];
                padded[i, pad + n - 1 + k] = padded[i, pad + n - 1 - k];
            }
        for (int k = 1; k <= pad; k++) // then rows, full width (corners included)
            for (int j = 0; j < n + 2 * pad; j++)
            {
                padded[pad - k, j] = padded[pad + k, j];
                padded[pad + n - 1 + k, j] = padded[pad + n - 1 - k, j];
            }
        var o = new float[n, n];
        for (int y = 0; y < n; y++) for (int x = 0; x < n; x++) o[y, x] = padded[y - d.TranslateY + pad, x - d.TranslateX + pad];
        return o;
    }

    public static float[,] Plane(float[] images, int offset, int size)
    {
        var p = new float[size, size];
        for (int y = 0; y < size; y++) for (int x = 0; x < size; x++) p[y, x] = images[offset + y * size + x];
        return p;
    }
}
