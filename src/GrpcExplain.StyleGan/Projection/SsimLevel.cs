namespace GrpcExplain.StyleGan.Projection;

/// <summary>
/// SSIM at one scale, per channel, forward and backward. G is the separable Gaussian window applied
/// over the positions where it lies wholly inside the plane ("valid"); with μx = G(x), σxx = G(x²) − μx²,
/// σxy = G(xy) − μx·μy and A1 = 2μxμy + C1, B1 = μx² + μy² + C1, A2 = 2σxy + C2, B2 = σxx + σyy + C2,
/// the maps are cs = A2/B2 and ssim = (A1/B1)·cs; their means over the positions are what
/// <see cref="ImageMetrics"/> combines. The backward takes the maps back to the three filtered
/// quantities that hold x (μx, G(x²), G(xy)) and through G's adjoint to x.
/// </summary>
internal sealed class SsimLevel
{
    private readonly double[][] _x, _y;
    private readonly double[] _window;
    private readonly double _c1, _c2;
    private readonly int _outH, _outW;
    // Per channel, per valid position: μx, μy, σxx, σyy, σxy.
    private readonly double[][] _mx, _my, _sxx, _syy, _sxy;

    private SsimLevel(double[][] x, double[][] y, int h, int w, SsimOptions o)
    {
        (_x, _y, Height, Width) = (x, y, h, w);
        _window = Window(o.WindowSize, o.Sigma);
        (_c1, _c2) = (Math.Pow(o.K1 * o.DataRange, 2), Math.Pow(o.K2 * o.DataRange, 2));
        int k = o.WindowSize;
        (_outH, _outW) = (h - k + 1, w - k + 1);
        int channels = x.Length, n = _outH * _outW;
        _mx = new double[channels][];
        _my = new double[channels][];
        _sxx = new double[channels][];
        _syy = new double[channels][];
        _sxy = new double[channels][];
        Ssim = new double[channels];
        Cs = new double[channels];
        var product = new double[h * w];
        for (int c = 0; c < channels; c++)
        {
            var (xc, yc) = (x[c], y[c]);
            _mx[c] = Filter(xc);
            _my[c] = Filter(yc);
            for (int i = 0; i < product.Length; i++) product[i] = xc[i] * xc[i];
            _sxx[c] = Filter(product);
            for (int i = 0; i < product.Length; i++) product[i] = yc[i] * yc[i];
            _syy[c] = Filter(product);
            for (int i = 0; i < product.Length; i++) product[i] = xc[i] * yc[i];
            _sxy[c] = Filter(product);
            double ssim = 0, cs = 0;
            for (int p = 0; p < n; p++)
            {
                double mx = _mx[c][p], my = _my[c][p];
                _sxx[c][p] -= mx * mx;
                _syy[c][p] -= my * my;
                _sxy[c][p] -= mx * my;
                double csp = (2 * _sxy[c][p] + _c2) / (_sxx[c][p] + _syy[c][p] + _c2);
                cs += csp;
                ssim += (2 * mx * my + _c1) / (mx * mx + my * my + _c1) * csp;
            }
            Ssim[c] = ssim / n;
            Cs[c] = cs / n;
        }
    }

    public int Height { get; }
    public int Width { get; }

    /// <summary>Mean SSIM of each channel.</summary>
    public double[] Ssim { get; }

    /// <summary>Mean contrast-structure term of each channel.</summary>
    public double[] Cs { get; }

    public static SsimLevel Compute(double[][] x, double[][] y, int h, int w, SsimOptions o)
    {
        if (h < o.WindowSize || w < o.WindowSize)
            throw new ArgumentException($"A {h}x{w} plane is smaller than the {o.WindowSize}-pixel SSIM window.", nameof(h));
        return new SsimLevel(x, y, h, w, o);
    }

    /// <summary>Σ_c dSsim[c]·dSSIM_c/dx + dCs[c]·dCS_c/dx, one plane per channel.</summary>
    public double[][] Backward(double[] dSsim, double[] dCs)
    {
        int channels = _x.Length, n = _outH * _outW;
        var dx = new double[channels][];
        var (dMx, dExx, dExy) = (new double[n], new double[n], new double[n]);
        for (int c = 0; c < channels; c++)
        {
            double gs = dSsim[c] / n, gc = dCs[c] / n;
            for (int p = 0; p < n; p++)
            {
                double mx = _mx[c][p], my = _my[c][p];
                double a1 = 2 * mx * my + _c1, b1 = mx * mx + my * my + _c1;
                double a2 = 2 * _sxy[c][p] + _c2, b2 = _sxx[c][p] + _syy[c][p] + _c2;
                double l = a1 / b1, cs = a2 / b2;
                // d/dσxy, d/dσxx and the direct d/dμx of gs·l·cs + gc·cs.
                double dSxy = (gs * l + gc) * 2 / b2;
                double dSxx = -(gs * l + gc) * cs / b2;
                double dMxDirect = gs * cs * (2 * my - 2 * mx * l) / b1;
                // σxx = G(x²) − μx², σxy = G(xy) − μx·μy.
                dExx[p] = dSxx;
                dExy[p] = dSxy;
                dMx[p] = dMxDirect - 2 * mx * dSxx - my * dSxy;
            }
            var (gm, gxx, gxy) = (FilterBackward(dMx), FilterBackward(dExx), FilterBackward(dExy));
            var (xc, yc) = (_x[c], _y[c]);
            var d = dx[c] = new double[xc.Length];
            for (int i = 0; i < d.Length; i++) d[i] = gm[i] + 2 * xc[i] * gxx[i] + yc[i] * gxy[i];
        }
        return dx;
    }

    /// <summary>torch's avg_pool2d(kernel 2, stride 2, padding side % 2), zeros counted: an odd side gains a zero before its first pixel.</summary>
    public static double[] AvgPool2x2(double[] plane, int h, int w)
    {
        var (oh, ow, ph, pw) = ((h + 1) / 2, (w + 1) / 2, h % 2, w % 2);
        var output = new double[oh * ow];
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
            {
                double sum = 0;
                for (int di = 0; di < 2; di++)
                    for (int dj = 0; dj < 2; dj++)
                    {
                        int r = 2 * i - ph + di, s = 2 * j - pw + dj;
                        if (r >= 0 && r < h && s >= 0 && s < w) sum += plane[r * w + s];
                    }
                output[i * ow + j] = sum / 4;
            }
        return output;
    }

    /// <summary>Adds the adjoint of <see cref="AvgPool2x2"/> applied to <paramref name="dOutput"/> into <paramref name="dPlane"/> ([h, w]).</summary>
    public static void AvgPool2x2Backward(double[] dOutput, int h, int w, double[] dPlane)
    {
        var (ow, ph, pw) = ((w + 1) / 2, h % 2, w % 2);
        for (int r = 0; r < h; r++)
            for (int s = 0; s < w; s++)
                dPlane[r * w + s] += dOutput[((r + ph) / 2) * ow + (s + pw) / 2] / 4;
    }

    /// <summary>The normalised 1-D Gaussian; the 2-D window is its outer product.</summary>
    internal static double[] Window(int size, double sigma)
    {
        var g = new double[size];
        for (int i = 0; i < size; i++)
        {
            double t = i - (size - 1) / 2.0;
            g[i] = Math.Exp(-t * t / (2 * sigma * sigma));
        }
        double sum = g.Sum();
        for (int i = 0; i < size; i++) g[i] /= sum;
        return g;
    }

    /// <summary>Valid correlation with the window along rows, then columns: [h, w] → [h − k + 1, w − k + 1].</summary>
    private double[] Filter(double[] plane)
    {
        int k = _window.Length, w = Width, h = Height;
        var rows = new double[h * _outW];
        for (int r = 0; r < h; r++)
            for (int j = 0; j < _outW; j++)
            {
                double sum = 0;
                for (int t = 0; t < k; t++) sum += _window[t] * plane[r * w + j + t];
                rows[r * _outW + j] = sum;
            }
        var output = new double[_outH * _outW];
        for (int i = 0; i < _outH; i++)
            for (int t = 0; t < k; t++)
            {
                double g = _window[t];
                int src = (i + t) * _outW, dst = i * _outW;
                for (int j = 0; j < _outW; j++) output[dst + j] += g * rows[src + j];
            }
        return output;
    }

    /// <summary>The adjoint of <see cref="Filter"/>: [h − k + 1, w − k + 1] → [h, w].</summary>
    private double[] FilterBackward(double[] dOutput)
    {
        int k = _window.Length, w = Width, h = Height;
        var rows = new double[h * _outW];
        for (int i = 0; i < _outH; i++)
            for (int t = 0; t < k; t++)
            {
                double g = _window[t];
                int dst = (i + t) * _outW, src = i * _outW;
                for (int j = 0; j < _outW; j++) rows[dst + j] += g * dOutput[src + j];
            }
        var plane = new double[h * w];
        for (int r = 0; r < h; r++)
            for (int j = 0; j < _outW; j++)
            {
                double d = rows[r * _outW + j];
                for (int t = 0; t < k; t++) plane[r * w + j + t] += _window[t] * d;
            }
        return plane;
    }
}
