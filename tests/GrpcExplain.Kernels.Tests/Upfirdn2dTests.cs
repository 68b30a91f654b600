using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests;

public sealed record Upfirdn2dCase(string Kind, int N, int C, int H, int W, bool Large = false) : IOpCase
{
    public string Name => $"{Kind}_N{N}_C{C}_{H}x{W}";
    public Upfirdn2dParams P => Params(Kind);
    public Shape XShape => new(N, C, H, W);
    public Shape YShape => P.OutputShape(XShape);

    /// <summary>Not symmetric and not square, so a filter applied unflipped, transposed or mirrored shows.</summary>
    public static FirFilter Asymmetric3x2 { get; } = new([0.1f, -0.3f, 0.25f, 0.6f, -0.05f, 0.4f], 3, 2);

    public static FirFilter Asymmetric2x3 { get; } = new([0.5f, 0.2f, -0.1f, 0.3f, 0.7f, -0.4f], 2, 3);

    public static Upfirdn2dParams Params(string kind) => kind switch
    {
        "upsample2x" => Upfirdn2dParams.Upsample2x,
        "downsample2x" => Upfirdn2dParams.Downsample2x,
        "pad2" => new(PadX0: 2, PadX1: 2, PadY0: 2, PadY1: 2),    // the discriminator's FIR before a stride-2 3x3 conv
        "modconv_up" => ModulatedConv2dParams.UpFilter,             // after the stride-2 transposed conv
        "negpad" => new(PadX0: -1, PadX1: 2, PadY0: 1, PadY1: -2, Gain: 1.5f),
        "up2_down2" => new(Up: 2, Down: 2, PadX0: 3, PadX1: 0, PadY0: 1, PadY1: 2, Gain: 2f),
        "up3_asym" => new(Up: 3, PadX0: 1, PadX1: 1, PadY0: 2, PadY1: 0) { Filter = Asymmetric3x2 },
        "down3_asym" => new(Down: 3, PadX0: 0, PadX1: 2, PadY0: 1, PadY1: 1, Gain: 0.5f) { Filter = Asymmetric2x3 },
        "asym_negpad" => new(PadX0: -2, PadX1: 1, PadY0: 0, PadY1: -1) { Filter = Asymmetric3x2 },
        _ => throw new ArgumentException($"Unknown upfirdn2d case kind '{kind}'.", nameof(kind)),
    };
}

/// <summary>upfirdn2d forward and backward on every backend against the double-precision reference.</summary>
public sealed class Upfirdn2dTests(BackendPool pool)
{
    public static IReadOnlyList<Upfirdn2dCase> All { get; } =
    [
        new("upsample2x", 2, 3, 4, 4),
        new("upsample2x", 1, 3, 1, 1),
        new("upsample2x", 2, 5, 7, 5),
        new("upsample2x", 2, 17, 64, 64, Large: true),
        new("downsample2x", 2, 3, 8, 8),
        new("downsample2x", 1, 3, 2, 2),
        new("downsample2x", 1, 5, 7, 9),
        new("downsample2x", 2, 19, 64, 64, Large: true),
        new("pad2", 2, 3, 8, 8),
        new("pad2", 1, 19, 32, 32, Large: true),
        new("modconv_up", 2, 3, 9, 9),
        new("negpad", 2, 3, 9, 6),
        new("up2_down2", 1, 5, 5, 6),
        new("up3_asym", 2, 3, 4, 5),
        new("down3_asym", 1, 3, 10, 11),
        new("asym_negpad", 2, 17, 6, 7),
        new("asym_negpad", 1, 3, 64, 63, Large: true),
    ];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    [Theory, MemberData(nameof(Cases))]
    public void Forward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var xd = TestData.NormalDouble(TestData.Rng("upfirdn x " + c.Name), c.XShape.Length);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var x = b.Upload(TestData.ToFloat(xd), c.XShape);
        using var y = b.Sentinel(c.YShape);
        b.Upfirdn2dForward(x, y, c.P);
        Accuracy.AssertClose("y", b.Download(y), ReferenceCache.Get("upfirdn y " + c.Name, () => Reference.Upfirdn2dForward(xd, c.XShape, c.P)), y.Shape);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Backward(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        var dyd = TestData.NormalDouble(TestData.Rng("upfirdn dy " + c.Name), c.YShape.Length);
        using var lease = pool.Acquire(backend);
        var b = lease.Backend;
        using var dy = b.Upload(TestData.ToFloat(dyd), c.YShape);
        using var dx = b.Sentinel(c.XShape);
        b.Upfirdn2dBackward(dy, dx, c.P);
        Accuracy.AssertClose("dx", b.Download(dx), ReferenceCache.Get("upfirdn dx " + c.Name, () => Reference.Upfirdn2dBackward(dyd, c.XShape, c.P)), dx.Shape);
    }
}
