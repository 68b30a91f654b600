using GrpcExplain.Kernels.Ilgpu;
using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests.Ilgpu;

/// <summary>
/// One convolution as the three implicit-GEMM primitives see it: stride, padding, weight layout,
/// gain, and the optional per-(sample, channel) scales on the input and the output.
/// </summary>
public sealed record ConvPrimitiveCase(int N, int I, int O, int H, int W, int K, int Stride, int Padding, bool Transposed, bool Scales) : IOpCase
{
    public string Name => $"N{N}_I{I}_O{O}_{H}x{W}_k{K}_s{Stride}_p{Padding}{(Transposed ? "_wT" : "")}{(Scales ? "_scaled" : "")}";
    public bool Large => false;
    public int OutH => (H + 2 * Padding - K) / Stride + 1;
    public int OutW => (W + 2 * Padding - K) / Stride + 1;
    public Shape XShape => new(N, I, H, W);
    public Shape YShape => new(N, O, OutH, OutW);
    public Shape WShape => Transposed ? new(I, O, K, K) : new(O, I, K, K);
    internal ConvGeometry Geometry => new(Stride, Padding, Transposed, Gain: 0.7f);

    /// <summary>Index of Wc[o, i, ky, kx] in the stored layout.</summary>
    public int WeightIndex(int o, int i, int ky, int kx) => ((Transposed ? i * O + o : o * I + i) * K + ky) * K + kx;
}

/// <summary>
/// The convolution primitives of the ILGPU backend straight against their definition, in every GEMM
/// version, at sizes chosen to cross the emulator's tiles (v1: 16x16, 8-deep K-steps; v2: 32x32,
/// 2-deep) unevenly, at every stride phase (stride 3 included), with K-splits forced.
/// </summary>
public sealed class ConvPrimitiveTests(BackendPool pool)
{
    private static readonly (int N, int I, int O, int H, int W, int K, int S, int P)[] Shapes =
    [
        (2, 3, 5, 5, 5, 3, 1, 1),
        (2, 9, 17, 9, 7, 3, 1, 1),   // 17 output channels: two row tiles; K = 81, not a multiple of 8
        (2, 18, 7, 6, 6, 3, 2, 1),   // transposed pass has 18 rows; stride 2 on an even map
        (2, 5, 3, 7, 7, 3, 2, 0),    // stride 2, odd map, no padding
        (2, 3, 4, 6, 6, 1, 2, 0),    // 1x1 at stride 2: three phase classes receive no tap at all
        (1, 4, 5, 1, 1, 3, 1, 1),    // 1x1 map: only the kernel's centre sees data
        (2, 4, 3, 9, 9, 3, 2, 0),    // the upsampling transposed convolution's geometry
        (2, 3, 3, 4, 5, 3, 1, 2),    // padding wider than the kernel's half
        (2, 6, 5, 8, 7, 3, 3, 1),    // stride 3: nine phase classes
        (1, 5, 37, 6, 5, 3, 1, 1),   // 37 output channels: two v2 row tiles forward and for the weight gradient
        (1, 35, 3, 5, 4, 3, 2, 1),   // 35 input channels: two v2 row tiles for dx; ten column tiles of dWeight
    ];

    public static IReadOnlyList<ConvPrimitiveCase> All { get; } =
        [.. from s in Shapes from t in new[] { false, true } from sc in new[] { false, true }
            select new ConvPrimitiveCase(s.N, s.I, s.O, s.H, s.W, s.K, s.S, s.P, t, sc)];

    /// <summary>The GEMM versions, each tested whatever GRPCEXPLAIN_ILGPU_GEMM sets the backend to.</summary>
    public static IReadOnlyList<string> Versions { get; } = ["v1", "v2"];

    /// <summary>The ILGPU backends under test (the emulator, and CUDA when selected) x GEMM versions x cases.</summary>
    public static TheoryData<string, string, string> Cases
    {
        get
        {
            var rows = new TheoryData<string, string, string>();
            foreach (var backend in TestBackends.Selected.Where(b => b is TestBackends.IlgpuCpu or TestBackends.Cuda))
                foreach (var version in Versions)
                    foreach (var c in All) rows.Add(backend, version, c.Name);
            return rows;
        }
    }

    /// <summary>0: the backend's choice (one split on the emulator); then forced K-splits, the last more than there are K-steps.</summary>
    private static int[] Splits(int k) => [0, 2, 3, k];

    [Theory(SkipTestWithoutData = true), MemberData(nameof(Cases))]
    public void ForwardMatchesDefinition(string backend, string version, string @case)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        var want = Definition(c, d).Y;
        ForEachSplit(backend, version, c, d, c.I * c.K * c.K, (b, t, splits) =>
        {
            using var y = b.Sentinel(c.YShape);
            b.ConvForwardCore(t.X, t.W, y, c.Geometry, t.InScale, t.OutScale);
            Accuracy.AssertClose($"y ({splits} splits)", b.Download(y), want, y.Shape);
        });
    }

    [Theory(SkipTestWithoutData = true), MemberData(nameof(Cases))]
    public void BackwardDataMatchesDefinition(string backend, string version, string @case)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        var want = Definition(c, d).Dx;
        ForEachSplit(backend, version, c, d, c.O * c.K * c.K, (b, t, splits) =>
        {
            using var dx = b.Sentinel(c.XShape);
            b.ConvBackwardDataCore(t.Dy, t.W, dx, c.Geometry, t.OutScale, t.InScale);
            Accuracy.AssertClose($"dx ({splits} splits)", b.Download(dx), want, dx.Shape);
        });
    }

    [Theory(SkipTestWithoutData = true), MemberData(nameof(Cases))]
    public void BackwardWeightMatchesDefinition(string backend, string version, string @case)
    {
        var c = OpCases.Find(All, @case);
        var d = Make(c);
        var want = Definition(c, d).DWeight;
        ForEachSplit(backend, version, c, d, c.N * c.OutH * c.OutW, (b, t, splits) =>
        {
            using var dw = b.Sentinel(c.WShape);
            b.ConvBackwardWeightCore(t.X, t.Dy, dw, c.Geometry, t.InScale, t.OutScale);
            Accuracy.AssertClose($"dWeight ({splits} splits)", b.Download(dw), want, dw.Shape);
        });
    }

    /// <summary>Runs <paramref name="check"/> on the pooled backend switched to <paramref name="version"/>, at every split count; restores both.</summary>
    private void ForEachSplit(string backend, string version, ConvPrimitiveCase c, Data d, int k, Action<IlgpuBackend, Tensors, int> check)
    {
        using var lease = pool.Acquire(backend);
        var b = (IlgpuBackend)lease.Backend;
        var configured = b.GemmVersion;
        using var t = d.Upload(b, c);
        try
        {
            b.GemmVersion = IlgpuBackendOptions.ParseGemm(version);
            foreach (int splits in Splits(k))
            {
                b.SplitsOverride = splits;
                check(b, t, splits);
            }
        }
        finally
        {
            b.SplitsOverride = 0;
            b.GemmVersion = configured;
        }
    }

    internal sealed record Data(double[] X, double[] W, double[] Dy, double[]? InScale, double[]? OutScale)
    {
        public Tensors Upload(Backend b, ConvPrimitiveCase c) => new(
            b.Upload(TestData.ToFloat(X), c.XShape), b.Upload(TestData.ToFloat(W), c.WShape), b.Upload(TestData.ToFloat(Dy), c.YShape),
            InScale is null ? null : b.Upload(TestData.ToFloat(InScale), new Shape(c.N, c.I)),
            OutScale is null ? null : b.Upload(TestData.ToFloat(OutScale), new Shape(c.N, c.O)));
    }

    internal sealed record Tensors(Tensor X, Tensor W, Tensor Dy, Tensor? InScale, Tensor? OutScale) : IDisposable
    {
        public void Dispose()
        {
            X.Dispose(); W.Dispose(); Dy.Dispose(); InScale?.Dispose(); OutScale?.Dispose();
        }
    }

    private static Data Make(ConvPrimitiveCase c)
    {
        var rng = TestData.Rng("conv primitive " + c.Name);
        return new Data(
            TestData.NormalDouble(rng, c.XShape.Length), TestData.NormalDouble(rng, c.WShape.Length), TestData.NormalDouble(rng, c.YShape.Length),
            c.Scales ? TestData.ToDouble(TestData.Uniform(rng, c.N * c.I, 0.5, 1.5)) : null,
            c.Scales ? TestData.ToDouble(TestData.Uniform(rng, c.N * c.O, 0.5, 1.5)) : null);
    }

    /// <summary>
    /// The primitives' definition in double, one loop nest: y = gain·conv(x·inScale, Wc)·outScale,
    /// dx its adjoint applied to dy (dy·outScale in, ·inScale out), dWc = gain·Σ (dy·outScale)(x·inScale).
    /// </summary>
    private static (double[] Y, double[] Dx, double[] DWeight) Definition(ConvPrimitiveCase c, Data d)
    {
        var y = new double[c.YShape.Length];
        var dx = new double[c.XShape.Length];
        var dw = new double[c.WShape.Length];
        double gain = c.Geometry.Gain;
        double In(int n, int i) => d.InScale?[n * c.I + i] ?? 1;
        double Out(int n, int o) => d.OutScale?[n * c.O + o] ?? 1;
        for (int n = 0; n < c.N; n++)
            for (int o = 0; o < c.O; o++)
                for (int oy = 0; oy < c.OutH; oy++)
                    for (int ox = 0; ox < c.OutW; ox++)
                    {
                        int yi = ((n * c.O + o) * c.OutH + oy) * c.OutW + ox;
                        double acc = 0, g = d.Dy[yi] * Out(n, o) * gain;
                        for (int i = 0; i < c.I; i++)
                            for (int ky = 0; ky < c.K; ky++)
                                for (int kx = 0; kx < c.K; kx++)
                                {
                                    int iy = oy * c.Stride + ky - c.Padding, ix = ox * c.Stride + kx - c.Padding;
                                    if (iy < 0 || ix < 0 || iy >= c.H || ix >= c.W) continue;
                                    int xi = ((n * c.I + i) * c.H + iy) * c.W + ix, wi = c.WeightIndex(o, i, ky, kx);
                                    acc += d.X[xi] * In(n, i) * d.W[wi];
                                    dx[xi] += g * d.W[wi] * In(n, i);
                                    dw[wi] += g * d.X[xi] * In(n, i);
                                }
                        y[yi] = acc * gain * Out(n, o);
                    }
        return (y, dx, dw);
    }
}
