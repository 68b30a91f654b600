using static GrpcExplain.Kernels.Tests.Arguments.BadCall;

namespace GrpcExplain.Kernels.Tests.Arguments;

/// <summary>Bad calls of the convolutions and of upfirdn2d.</summary>
public static partial class BadCalls
{
    private static readonly Conv2dParams Same = new(Stride: 1, Padding: 1);

    // x [2, 3, 6, 6], weight [4, 3, 3, 3], y [2, 4, 6, 6] with padding 1.
    public static IReadOnlyList<BadCall> Conv2d { get; } =
    [
        Params("Conv2dForward: stride 0", "Conv2d", "stride", s => s.B.Conv2dForward(s.T(2, 3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 4, 6, 6), new(Stride: 0, Padding: 1))),
        Params("Conv2dForward: padding -1", "Conv2d", "padding", s => s.B.Conv2dForward(s.T(2, 3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 4, 4, 4), new(Stride: 1, Padding: -1))),
        Arg("Conv2dForward: weight with 5 input channels for x with 3", "Conv2d", "weight", s => s.B.Conv2dForward(s.T(2, 3, 6, 6), s.T(4, 5, 3, 3), s.T(2, 4, 6, 6), Same)),
        new("Conv2dForward: 3x1 kernel", "Conv2d", ["weight", "square"], s => s.B.Conv2dForward(s.T(2, 3, 6, 6), s.T(4, 3, 3, 1), s.T(2, 4, 6, 6), Same), Param: "weight"),
        Arg("Conv2dForward: weight of rank 2", "Conv2d", "weight", s => s.B.Conv2dForward(s.T(2, 3, 6, 6), s.T(4, 27), s.T(2, 4, 6, 6), Same)),
        Arg("Conv2dForward: x of rank 3", "Conv2d", "x", s => s.B.Conv2dForward(s.T(3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 4, 6, 6), Same)),
        Arg("Conv2dForward: 2x2 input for a 3x3 kernel without padding", "Conv2d", "x", s => s.B.Conv2dForward(s.T(1, 3, 2, 2), s.T(4, 3, 3, 3), s.T(1, 4, 1, 1), new())),
        Arg("Conv2dForward: y of the stride-1 size with stride 2", "Conv2d", "y", s => s.B.Conv2dForward(s.T(2, 3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 4, 6, 6), new(Stride: 2, Padding: 1))),
        Arg("Conv2dForward: y with 3 channels for 4 outputs", "Conv2d", "y", s => s.B.Conv2dForward(s.T(2, 3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 3, 6, 6), Same)),
        Arg("Conv2dForward: weight of another backend", "Conv2d", "weight", s => s.B.Conv2dForward(s.T(2, 3, 6, 6), s.Foreign(4, 3, 3, 3), s.T(2, 4, 6, 6), Same)),
        Disposed("Conv2dForward: disposed x", "Conv2d", "x", s => s.B.Conv2dForward(s.Disposed(2, 3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 4, 6, 6), Same)),
        Alias("Conv2dForward: y is x", "Conv2d", "y", "x", s =>
        {
            var x = s.T(2, 3, 6, 6);
            s.B.Conv2dForward(x, s.T(3, 3, 3, 3), x, Same);
        }),
        Arg("Conv2dBackward: dy of [2, 4, 5, 5]", "Conv2d", "dy", s => s.B.Conv2dBackward(s.T(2, 3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 4, 5, 5), s.T(2, 3, 6, 6), null, Same)),
        Arg("Conv2dBackward: dx of [2, 3, 5, 5]", "Conv2d", "dx", s => s.B.Conv2dBackward(s.T(2, 3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 4, 6, 6), s.T(2, 3, 5, 5), null, Same)),
        Arg("Conv2dBackward: dWeight of [4, 3, 1, 1]", "Conv2d", "dWeight", s => s.B.Conv2dBackward(s.T(2, 3, 6, 6), s.T(4, 3, 3, 3), s.T(2, 4, 6, 6), null, s.T(4, 3, 1, 1), Same)),
        Alias("Conv2dBackward: dx is dy", "Conv2d", "dx", "dy", s =>
        {
            var g = s.T(2, 3, 6, 6);
            s.B.Conv2dBackward(s.T(2, 3, 6, 6), s.T(3, 3, 3, 3), g, g, null, Same);
        }),
        Alias("Conv2dBackward: dx is x", "Conv2d", "dx", "x", s =>
        {
            var x = s.T(2, 3, 6, 6);
            s.B.Conv2dBackward(x, s.T(4, 3, 3, 3), s.T(2, 4, 6, 6), x, s.T(4, 3, 3, 3), Same);
        }),
        Alias("Conv2dBackward: dWeight is weight", "Conv2d", "dWeight", "weight", s =>
        {
            var w = s.T(4, 3, 3, 3);
            s.B.Conv2dBackward(s.T(2, 3, 6, 6), w, s.T(2, 4, 6, 6), s.T(2, 3, 6, 6), w, Same);
        }),
        Alias("ModulatedConv2dBackward: dWeight is weight", "ModulatedConv2d", "dWeight", "weight", s =>
        {
            var w = s.T(5, 3, 3, 3);
            s.B.ModulatedConv2dBackward(s.T(2, 3, 4, 4), w, s.T(2, 3), s.T(2, 5, 4, 4), s.T(2, 5, 4, 4), null, w, null, new ModulatedConv2dParams());
        }),
    ];

    private static readonly ModulatedConv2dParams Mod = new();
    private static readonly ModulatedConv2dParams ModUp = new(Up: true);

    // x [2, 3, 4, 4], weight [5, 3, 3, 3], styles [2, 3], y [2, 5, 4, 4] (Up: [2, 5, 8, 8]).
    public static IReadOnlyList<BadCall> ModulatedConv2d { get; } =
    [
        new("ModulatedConv2dForward: 3x1 kernel", "ModulatedConv2d", ["weight", "1x1 or 3x3"], s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 1), s.T(2, 3), s.T(2, 5, 4, 4), Mod), Param: "weight"),
        Arg("ModulatedConv2dForward: 5x5 kernel", "ModulatedConv2d", "weight", s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 3, 5, 5), s.T(2, 3), s.T(2, 5, 4, 4), Mod)),
        new("ModulatedConv2dForward: Up with a 1x1 kernel", "ModulatedConv2d", ["weight", "3x3"], s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 3, 1, 1), s.T(2, 3), s.T(2, 5, 8, 8), ModUp), Param: "weight"),
        Arg("ModulatedConv2dForward: weight with 4 input channels for x with 3", "ModulatedConv2d", "weight", s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 4, 3, 3), s.T(2, 3), s.T(2, 5, 4, 4), Mod)),
        Arg("ModulatedConv2dForward: styles of [2, 4]", "ModulatedConv2d", "styles", s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.T(2, 4), s.T(2, 5, 4, 4), Mod)),
        Arg("ModulatedConv2dForward: styles for 1 sample of 2", "ModulatedConv2d", "styles", s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.T(1, 3), s.T(2, 5, 4, 4), Mod)),
        Arg("ModulatedConv2dForward: x of rank 2", "ModulatedConv2d", "x", s => s.B.ModulatedConv2dForward(s.T(2, 48), s.T(5, 3, 3, 3), s.T(2, 3), s.T(2, 5, 4, 4), Mod)),
        Arg("ModulatedConv2dForward: Up with a same-size y", "ModulatedConv2d", "y", s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.T(2, 3), s.T(2, 5, 4, 4), ModUp)),
        Arg("ModulatedConv2dForward: styles of another backend", "ModulatedConv2d", "styles", s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.Foreign(2, 3), s.T(2, 5, 4, 4), Mod)),
        Disposed("ModulatedConv2dForward: disposed styles", "ModulatedConv2d", "styles", s => s.B.ModulatedConv2dForward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.Disposed(2, 3), s.T(2, 5, 4, 4), Mod)),
        Alias("ModulatedConv2dForward: y is x", "ModulatedConv2d", "y", "x", s =>
        {
            var x = s.T(2, 3, 4, 4);
            s.B.ModulatedConv2dForward(x, s.T(3, 3, 3, 3), s.T(2, 3), x, Mod);
        }),
        Arg("ModulatedConv2dBackward: dy of the same-size output with Up", "ModulatedConv2d", "dy", s => s.B.ModulatedConv2dBackward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.T(2, 3), s.T(2, 5, 8, 8), s.T(2, 5, 4, 4), s.T(2, 3, 4, 4), null, null, ModUp)),
        Arg("ModulatedConv2dBackward: dStyles of [2, 5]", "ModulatedConv2d", "dStyles", s => s.B.ModulatedConv2dBackward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.T(2, 3), s.T(2, 5, 4, 4), s.T(2, 5, 4, 4), null, null, s.T(2, 5), Mod)),
        Arg("ModulatedConv2dBackward: dWeight of [5, 3, 1, 1]", "ModulatedConv2d", "dWeight", s => s.B.ModulatedConv2dBackward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.T(2, 3), s.T(2, 5, 4, 4), s.T(2, 5, 4, 4), null, s.T(5, 3, 1, 1), null, Mod)),
        Arg("ModulatedConv2dBackward: dx of [2, 3, 8, 8] with Up", "ModulatedConv2d", "dx", s => s.B.ModulatedConv2dBackward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), s.T(2, 3), s.T(2, 5, 8, 8), s.T(2, 5, 8, 8), s.T(2, 3, 8, 8), null, null, ModUp)),
        Alias("ModulatedConv2dBackward: dx is dy", "ModulatedConv2d", "dx", "dy", s =>
        {
            var g = s.T(2, 3, 4, 4);
            s.B.ModulatedConv2dBackward(s.T(2, 3, 4, 4), s.T(3, 3, 3, 3), s.T(2, 3), s.T(2, 3, 4, 4), g, g, null, null, Mod);
        }),
        Alias("ModulatedConv2dBackward: dx is x", "ModulatedConv2d", "dx", "x", s =>
        {
            var x = s.T(2, 3, 4, 4);
            s.B.ModulatedConv2dBackward(x, s.T(5, 3, 3, 3), s.T(2, 3), s.T(2, 5, 4, 4), s.T(2, 5, 4, 4), x, s.T(5, 3, 3, 3), null, Mod);
        }),
        Alias("ModulatedConv2dBackward: dStyles is styles", "ModulatedConv2d", "dStyles", "styles", s =>
        {
            var st = s.T(2, 3);
            s.B.ModulatedConv2dBackward(s.T(2, 3, 4, 4), s.T(5, 3, 3, 3), st, s.T(2, 5, 4, 4), s.T(2, 5, 4, 4), null, s.T(5, 3, 3, 3), st, Mod);
        }),
    ];

    /// <summary>Pads that keep the size with the 4x4 filter (1 + 2 = 4 − 1).</summary>
    private static readonly Upfirdn2dParams KeepSize = new(PadX0: 1, PadX1: 2, PadY0: 1, PadY1: 2);

    // x [2, 3, 8, 8].
    public static IReadOnlyList<BadCall> Upfirdn2d { get; } =
    [
        Params("Upfirdn2dForward: up 0", "Upfirdn2d", "up", s => s.B.Upfirdn2dForward(s.T(2, 3, 8, 8), s.T(2, 3, 5, 5), new(Up: 0))),
        Params("Upfirdn2dForward: down 0", "Upfirdn2d", "down", s => s.B.Upfirdn2dForward(s.T(2, 3, 8, 8), s.T(2, 3, 5, 5), new(Down: 0))),
        Arg("Upfirdn2dForward: negative pads that crop everything", "Upfirdn2d", "x", s => s.B.Upfirdn2dForward(s.T(2, 3, 8, 8), s.T(2, 3, 5, 1), new(PadX0: -4, PadX1: -4))),
        Arg("Upfirdn2dForward: a 1x1 input, smaller than the filter even padded (Downsample2x)", "Upfirdn2d", "x", s => s.B.Upfirdn2dForward(s.T(1, 3, 1, 1), s.T(1, 3, 1, 1), Upfirdn2dParams.Downsample2x)),
        Arg("Upfirdn2dForward: y of the input's size for Upsample2x", "Upfirdn2d", "y", s => s.B.Upfirdn2dForward(s.T(2, 3, 8, 8), s.T(2, 3, 8, 8), Upfirdn2dParams.Upsample2x)),
        Arg("Upfirdn2dForward: x of rank 3", "Upfirdn2d", "x", s => s.B.Upfirdn2dForward(s.T(3, 8, 8), s.T(2, 3, 16, 16), Upfirdn2dParams.Upsample2x)),
        Arg("Upfirdn2dForward: y of another backend", "Upfirdn2d", "y", s => s.B.Upfirdn2dForward(s.T(2, 3, 8, 8), s.Foreign(2, 3, 16, 16), Upfirdn2dParams.Upsample2x)),
        Disposed("Upfirdn2dForward: disposed x", "Upfirdn2d", "x", s => s.B.Upfirdn2dForward(s.Disposed(2, 3, 8, 8), s.T(2, 3, 16, 16), Upfirdn2dParams.Upsample2x)),
        Alias("Upfirdn2dForward: y is x", "Upfirdn2d", "y", "x", s =>
        {
            var x = s.T(2, 3, 8, 8);
            s.B.Upfirdn2dForward(x, x, KeepSize);
        }),
        Arg("Upfirdn2dBackward: dx of rank 3", "Upfirdn2d", "dx", s => s.B.Upfirdn2dBackward(s.T(2, 3, 16, 16), s.T(3, 8, 8), Upfirdn2dParams.Upsample2x)),
        Arg("Upfirdn2dBackward: dy of [2, 3, 8, 8] for Upsample2x of 8x8", "Upfirdn2d", "dy", s => s.B.Upfirdn2dBackward(s.T(2, 3, 8, 8), s.T(2, 3, 8, 8), Upfirdn2dParams.Upsample2x)),
        Alias("Upfirdn2dBackward: dx is dy", "Upfirdn2d", "dx", "dy", s =>
        {
            var g = s.T(2, 3, 8, 8);
            s.B.Upfirdn2dBackward(g, g, KeepSize);
        }),
    ];
}
