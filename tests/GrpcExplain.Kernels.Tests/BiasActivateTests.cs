using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

/// <summary>NoiseBatch: 0 without noise, 1 for one map shared by the batch, N for one per sample.</summary>
public sealed record BiasActivateCase(int N, int C, int H, int W, bool Bias, int NoiseBatch, float Strength, float Slope, float Gain, float Clamp, bool Large = false) : IOpCase
{
    public string Name => $"N{N}_C{C}_{H}x{W}{(Bias ? "_bias" : "")}{(NoiseBatch == 0 ? "" : $"_noise{NoiseBatch}x{Strength}")}_slope{Slope}_gain{Gain:0.###}" +
                          (Clamp > 0 ? $"_clamp{Clamp}" : "");
    public BiasActivateParams P => new(Slope, Gain, Clamp);
    public Shape XShape => new(N, C, H, W);
    public Shape NoiseShape => new(NoiseBatch, 1, H, W);
}

/// <summary>The fused epilogue forward and backward, also in place, on every backend against the reference.</summary>
public sealed class BiasActivateTests(BackendPool pool)
{
    private static readonly float Sqrt2 = MathF.Sqrt(2);

    public static IReadOnlyList<BiasActivateCase> All { get; } =
    [
        new(2, 3, 4, 4, true, 2, 0.7f, 0.2f, Sqrt2, -1),      // a synthesis layer: noise per sample, leaky ReLU
        new(3, 5, 5, 7, true, 1, -0.3f, 0.2f, Sqrt2, 0.5f),   // shared noise map, a clamp that bites
        new(2, 3, 4, 4, true, 2, 0f, 0.2f, Sqrt2, 256),       // noise strength as initialised (zero), clamp idle
        new(2, 17, 4, 4, true, 0, 0, 0f, 1, -1),              // ReLU
        new(2, 3, 6, 6, false, 2, 0.4f, 1f, 1, 1f),           // linear with clamp (ToRGB with conv_clamp)
        new(1, 19, 1, 1, true, 0, 0, 0.2f, Sqrt2, 256),
        new(2, 5, 3, 5, true, 1, 1.3f, 0.2f, 1, -1),
        new(2, 19, 64, 64, true, 2, 0.1f, 0.2f, Sqrt2, 256, Large: true),
        new(4, 17, 33, 31, true, 1, -0.8f, 0.2f, Sqrt2, 0.5f, Large: true),
        new(2, 64, 32, 32, false, 0, 0, 0f, 2, -1, Large: true),
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    private sealed record Data(double[] X, double[]? Bias, double[]? Noise, double Strength, double[] Dy);

    private static Data Make(BiasActivateCase c)
    {
        var rng = TestData.Rng("biasact " + c.Name);
        return new(TestData.NormalDouble(rng, c.XShape.Length), c.Bias ? TestData.NormalDouble(rng, c.C) : null,
            c.NoiseBatch == 0 ? null : TestData.NormalDouble(rng, c.NoiseShape.Length), c.Strength, TestData.NormalDouble(rng, c.XShape.Length));
    }

    private static double[] ReferenceY(BiasActivateCase c, Data d) =>
        ReferenceCache.Get("biasact y " + c.Name, () => Reference.BiasActivateForward(d.X, c.XShape, d.Bias, d.Noise, c.NoiseBatch, d.Strength, c.P));

    /// <summary>The inputs on the backend: bias, noise and strength (null when the case has none).</summary>
    private static (Tensor? Bias, Tensor? Noise, Tensor? Strength) Upload(Backend b, BiasActivateCase c, Data d) =>
        (d.Bias is null ? null : b.Upload(TestData.ToFloat(d.Bias), c.C),
         d.Noise is null ? null : b.Upload(TestData.ToFloat(d.Noise), c.NoiseShape),
         d.Noise is null ? null : b.Upload([c.Strength], 1));

    [Theory, MemberData(nameof(Cases))]
    public void Forward(string backend, string @case) => RunForward(backend, @case, inPlace: false);

    /// <summary>y may be x itself: the epilogue runs in place on a convolution's output.</summary>
    [Theory, MemberData(nameof(Cases))]
    public void ForwardInPlace(string backend, string @case) => RunForward(backend, @case, inPlace: true);

    [Theory, MemberData(nameof(Cases))]
    public void Backward(string backend, string @case) => RunBackward(backend, @case, inPlace: false);

    /// <summary>dx may be dy itself.</summary>
    [Theory, MemberData(nameof(Cases))]
    public void BackwardInPlace(string backend, string @case) => RunBackward(backend, @case, inPlace: true);

    private void RunForward(string backend, string @case, bool inPlace)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        var (bias, noise, strength) = Upload(b, c, d);
        using (bias) using (noise) using (strength)
        {
            using var x = b.Upload(TestData.ToFloat(d.X), c.XShape);
            using var separate = inPlace ? null : b.Sentinel(c.XShape);
            var y = separate ?? x;
            b.BiasActivateForward(x, bias, noise, strength, y, c.P);
            Accuracy.AssertClose(inPlace ? "y (in place)" : "y", b.Download(y), ReferenceY(c, d), y.Shape);
        }
    }

    private void RunBackward(string backend, string @case, bool inPlace)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        var yRef = ReferenceY(c, d);
        var (dxRef, dbRef, dnRef, dsRef) = Reference.BiasActivateBackward(d.X, c.XShape, d.Bias, d.Noise, c.NoiseBatch, d.Strength, d.Dy, c.P);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        var (_, noise, strength) = Upload(b, c, d);
        using (noise) using (strength)
        {
            using var y = b.Upload(TestData.ToFloat(yRef), c.XShape);
            bool hasNoise = noise is not null;
            var names = hasNoise ? new[] { "dx", "dBias", "dNoise", "dNoiseStrength" } : ["dx", "dBias"];
            foreach (var (label, want) in GradientSubsets.Of(names))
            {
                if (inPlace && !want[0]) continue;
                // Fresh each time: in place, the call overwrites dy.
                using var dy = b.Upload(TestData.ToFloat(d.Dy), c.XShape);
                using var separateDx = inPlace ? null : b.SentinelIf(want[0], c.XShape);
                var dx = inPlace ? dy : separateDx;
                using var db = b.SentinelIf(want[1], new Shape(c.C));
                using var dn = hasNoise && want[2] ? b.Sentinel(c.NoiseShape) : null;
                using var ds = b.SentinelIf(hasNoise && want[3], new Shape(1));
                b.BiasActivateBackward(y, dy, noise, strength, dx, db, dn, ds, c.P);
                string how = inPlace ? $"{label}, dx in place of dy" : label;
                if (dx is not null) Accuracy.AssertClose($"dx ({how})", b.Download(dx), dxRef, dx.Shape);
                if (db is not null) Accuracy.AssertClose($"dBias ({how})", b.Download(db), dbRef, db.Shape);
                if (dn is not null) Accuracy.AssertClose($"dNoise ({how})", b.Download(dn), dnRef!, dn.Shape);
                if (ds is not null) Accuracy.AssertClose($"dNoiseStrength ({how})", b.Download(ds)[0], dsRef);
            }
        }
    }
}
