namespace GrpcExplain.StyleGan.Projection;

/// <summary>
/// What keeps optimised noise maps noise-like (NVIDIA's projector.py): the penalty Σ over maps and over
/// their pyramid (2x2 average pooling down to 8x8) of the squared mean product of each level with
/// itself shifted cyclically by one pixel along x and along y, so that no map can hide image content
/// as spatially correlated structure; and after every step each map is renormalised to zero mean and
/// unit second moment.
/// </summary>
internal static class NoiseRegularization
{
    /// <summary>The penalty over <paramref name="maps"/> ([r, r] each); with <paramref name="gradients"/>, adds weight·d(penalty)/d(map) into them.</summary>
    public static double Penalty(IReadOnlyList<NoiseLayer> layers, IReadOnlyDictionary<string, float[]> maps, float weight = 1, IReadOnlyDictionary<string, float[]>? gradients = null)
    {
        double total = 0;
        foreach (var (name, res) in layers)
        {
            // The pyramid, finest first, as doubles.
            var levels = new List<(double[] Values, int Size)> { ([.. maps[name].Select(v => (double)v)], res) };
            while (levels[^1].Size > 8) levels.Add(Pool(levels[^1].Values, levels[^1].Size));
            var dLevels = levels.Select(l => new double[l.Values.Length]).ToArray();
            for (int i = 0; i < levels.Count; i++)
            {
                var (n, s) = levels[i];
                double ax = 0, ay = 0;
                for (int r = 0; r < s; r++)
                    for (int c = 0; c < s; c++)
                    {
                        ax += n[r * s + c] * n[r * s + (c + s - 1) % s];
                        ay += n[r * s + c] * n[(r + s - 1) % s * s + c];
                    }
                ax /= s * s;
                ay /= s * s;
                total += ax * ax + ay * ay;
                // d(a²)/dn = 2a·(left + right neighbour)/P, cyclically.
                var d = dLevels[i];
                for (int r = 0; r < s; r++)
                    for (int c = 0; c < s; c++)
                        d[r * s + c] = 2 * ax * (n[r * s + (c + s - 1) % s] + n[r * s + (c + 1) % s]) / (s * s)
                            + 2 * ay * (n[(r + s - 1) % s * s + c] + n[(r + 1) % s * s + c]) / (s * s);
            }
            if (gradients is null) continue;
            for (int i = levels.Count - 1; i > 0; i--)
            {
                int s = levels[i - 1].Size;
                for (int r = 0; r < s; r++)
                    for (int c = 0; c < s; c++) dLevels[i - 1][r * s + c] += dLevels[i][r / 2 * (s / 2) + c / 2] / 4;
            }
            var g = gradients[name];
            for (int j = 0; j < g.Length; j++) g[j] += (float)(weight * dLevels[0][j]);
        }
        return total;
    }

    /// <summary>Zero mean, unit mean square, in place.</summary>
    public static void Normalize(float[] map)
    {
        double mean = map.Average(v => (double)v);
        double square = map.Average(v => (v - mean) * (v - mean));
        double scale = square > 0 ? 1 / Math.Sqrt(square) : 1;
        for (int i = 0; i < map.Length; i++) map[i] = (float)((map[i] - mean) * scale);
    }

    private static (double[] Values, int Size) Pool(double[] n, int s)
    {
        int h = s / 2;
        var pooled = new double[h * h];
        for (int r = 0; r < h; r++)
            for (int c = 0; c < h; c++)
                pooled[r * h + c] = (n[2 * r * s + 2 * c] + n[2 * r * s + 2 * c + 1] + n[(2 * r + 1) * s + 2 * c] + n[(2 * r + 1) * s + 2 * c + 1]) / 4;
        return (pooled, h);
    }
}
