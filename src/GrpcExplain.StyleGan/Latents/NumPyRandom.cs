namespace GrpcExplain.StyleGan.Latents;

/// <summary>
/// NumPy's legacy <c>np.random.RandomState(seed)</c>, draw for draw: MT19937 seeded by
/// init_genrand, 53-bit doubles, and the legacy Gaussian (Marsaglia's polar method, which keeps the
/// second value of each pair for the next call). NVIDIA's generate.py draws z as
/// <c>np.random.RandomState(seed).randn(1, z_dim)</c>; reproducing it here makes <c>--seeds</c> give
/// the images a StyleGAN user already knows by seed.
/// </summary>
public sealed class NumPyRandom
{
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908b0dfu;
    private const uint UpperMask = 0x80000000u;
    private const uint LowerMask = 0x7fffffffu;

    private readonly uint[] _mt = new uint[N];
    private int _index;
    private bool _hasGauss;
    private double _gauss;

    /// <summary>RandomState(seed) for an integer seed, which NumPy requires to lie in [0, 2^32 − 1].</summary>
    public NumPyRandom(uint seed)
    {
        // init_genrand (mt19937_seed in NumPy's legacy distributions).
        _mt[0] = seed;
        for (int i = 1; i < N; i++)
            _mt[i] = unchecked(1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i);
        _index = N;
    }

    /// <summary>The next 32-bit output of MT19937 (genrand_int32).</summary>
    public uint NextUInt32()
    {
        if (_index >= N) Twist();
        uint y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>A double in [0, 1) from 53 random bits, as <c>random_sample()</c>.</summary>
    public double NextDouble()
    {
        uint a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary>One standard normal value, as <c>standard_normal()</c> / <c>randn()</c> (legacy_gauss).</summary>
    public double NextGaussian()
    {
        if (_hasGauss)
        {
            _hasGauss = false;
            return _gauss;
        }
        double x1, x2, r2;
        do
        {
            x1 = 2.0 * NextDouble() - 1.0;
            x2 = 2.0 * NextDouble() - 1.0;
            r2 = x1 * x1 + x2 * x2;
        } while (r2 >= 1.0 || r2 == 0.0);
        double f = Math.Sqrt(-2.0 * Math.Log(r2) / r2);
        _gauss = f * x1;
        _hasGauss = true;
        return f * x2;
    }

    /// <summary><c>randn(count)</c>: the next <paramref name="count"/> standard normal values.</summary>
    public double[] Randn(int count)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = NextGaussian();
        return values;
    }

    private void Twist()
    {
        for (int i = 0; i < N; i++)
        {
            uint y = (_mt[i] & UpperMask) | (_mt[(i + 1) % N] & LowerMask);
            _mt[i] = _mt[(i + M) % N] ^ (y >> 1) ^ ((y & 1) != 0 ? MatrixA : 0u);
        }
        _index = 0;
    }
}
