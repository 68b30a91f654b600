using static GrpcExplain.Kernels.Tests.Arguments.BadCall;

namespace GrpcExplain.Kernels.Tests.Arguments;

/// <summary>Bad calls of host transfers and of the dense ops.</summary>
public static partial class BadCalls
{
    public static IReadOnlyList<BadCall> Memory { get; } =
    [
        Arg("Upload: 5 values for shape [2, 3]", "Upload", "values", s => s.B.Upload(new float[5], new Shape(2, 3)).Dispose()),
        Arg("Upload: 7 values for shape [2, 3]", "Upload", "values", s => s.B.Upload(new float[7], new Shape(2, 3)).Dispose()),
        Arg("Download: destination too short", "Download", "destination", s => s.B.Download(s.T(2, 3), new float[5])),
        Arg("Download: destination too long", "Download", "destination", s => s.B.Download(s.T(2, 3), new float[7])),
        Arg("Download: tensor of another backend", "Download", "tensor", s => s.B.Download(s.Foreign(2, 3), new float[6])),
        Disposed("Download: disposed tensor", "Download", "tensor", s => s.B.Download(s.Disposed(2, 3))),
    ];

    private static readonly FullyConnectedParams Fc = new(0.01f, LeakyRelu: true);

    // x [2, 3], weight [4, 3], bias [4], y [2, 4].
    public static IReadOnlyList<BadCall> FullyConnected { get; } =
    [
        Arg("FullyConnectedForward: x of rank 3", "FullyConnected", "x", s => s.B.FullyConnectedForward(s.T(2, 3, 1), s.T(4, 3), null, s.T(2, 4), Fc)),
        Arg("FullyConnectedForward: weight with 5 input features for x with 3", "FullyConnected", "weight", s => s.B.FullyConnectedForward(s.T(2, 3), s.T(4, 5), s.T(4), s.T(2, 4), Fc)),
        Arg("FullyConnectedForward: weight of rank 1", "FullyConnected", "weight", s => s.B.FullyConnectedForward(s.T(2, 3), s.T(12), null, s.T(2, 4), Fc)),
        Arg("FullyConnectedForward: bias of 3 for 4 outputs", "FullyConnected", "bias", s => s.B.FullyConnectedForward(s.T(2, 3), s.T(4, 3), s.T(3), s.T(2, 4), Fc)),
        Arg("FullyConnectedForward: y of [2, 5]", "FullyConnected", "y", s => s.B.FullyConnectedForward(s.T(2, 3), s.T(4, 3), s.T(4), s.T(2, 5), Fc)),
        Arg("FullyConnectedForward: y of [4, 2]", "FullyConnected", "y", s => s.B.FullyConnectedForward(s.T(2, 3), s.T(4, 3), s.T(4), s.T(4, 2), Fc)),
        Arg("FullyConnectedForward: x of another backend", "FullyConnected", "x", s => s.B.FullyConnectedForward(s.Foreign(2, 3), s.T(4, 3), s.T(4), s.T(2, 4), Fc)),
        Disposed("FullyConnectedForward: disposed weight", "FullyConnected", "weight", s => s.B.FullyConnectedForward(s.T(2, 3), s.Disposed(4, 3), s.T(4), s.T(2, 4), Fc)),
        Alias("FullyConnectedForward: y is x", "FullyConnected", "y", "x", s =>
        {
            var x = s.T(2, 4);
            s.B.FullyConnectedForward(x, s.T(4, 4), s.T(4), x, Fc);
        }),
        Arg("FullyConnectedBackward: dy of [2, 3]", "FullyConnected", "dy", s => s.B.FullyConnectedBackward(s.T(2, 3), s.T(4, 3), s.T(2, 4), s.T(2, 3), s.T(2, 3), null, null, Fc)),
        Arg("FullyConnectedBackward: dx of [3, 2]", "FullyConnected", "dx", s => s.B.FullyConnectedBackward(s.T(2, 3), s.T(4, 3), s.T(2, 4), s.T(2, 4), s.T(3, 2), null, null, Fc)),
        Arg("FullyConnectedBackward: dWeight of [3, 4]", "FullyConnected", "dWeight", s => s.B.FullyConnectedBackward(s.T(2, 3), s.T(4, 3), s.T(2, 4), s.T(2, 4), null, s.T(3, 4), null, Fc)),
        Arg("FullyConnectedBackward: dBias of [2]", "FullyConnected", "dBias", s => s.B.FullyConnectedBackward(s.T(2, 3), s.T(4, 3), s.T(2, 4), s.T(2, 4), null, null, s.T(2), Fc)),
        Arg("FullyConnectedBackward: dy of another backend", "FullyConnected", "dy", s => s.B.FullyConnectedBackward(s.T(2, 3), s.T(4, 3), s.T(2, 4), s.Foreign(2, 4), s.T(2, 3), null, null, Fc)),
        Disposed("FullyConnectedBackward: disposed dx", "FullyConnected", "dx", s => s.B.FullyConnectedBackward(s.T(2, 3), s.T(4, 3), s.T(2, 4), s.T(2, 4), s.Disposed(2, 3), null, null, Fc)),
        Alias("FullyConnectedBackward: dx is dWeight", "FullyConnected", "dx", "dWeight", s =>
        {
            var g = s.T(4, 3);
            s.B.FullyConnectedBackward(s.T(4, 3), s.T(4, 3), s.T(4, 4), s.T(4, 4), g, g, null, Fc);
        }),
        Alias("FullyConnectedBackward: dx is x", "FullyConnected", "dx", "x", s =>
        {
            var x = s.T(2, 3);
            s.B.FullyConnectedBackward(x, s.T(4, 3), s.T(2, 4), s.T(2, 4), x, s.T(4, 3), null, Fc);
        }),
        Alias("FullyConnectedBackward: dWeight is weight", "FullyConnected", "dWeight", "weight", s =>
        {
            var w = s.T(4, 3);
            s.B.FullyConnectedBackward(s.T(2, 3), w, s.T(2, 4), s.T(2, 4), s.T(2, 3), w, null, Fc);
        }),
    ];

    // x, y [2, 5].
    public static IReadOnlyList<BadCall> Normalize2ndMoment { get; } =
    [
        Arg("Normalize2ndMomentForward: x of rank 4", "Normalize2ndMoment", "x", s => s.B.Normalize2ndMomentForward(s.T(2, 5, 1, 1), s.T(2, 5, 1, 1))),
        Arg("Normalize2ndMomentForward: y of [2, 4]", "Normalize2ndMoment", "y", s => s.B.Normalize2ndMomentForward(s.T(2, 5), s.T(2, 4))),
        Arg("Normalize2ndMomentForward: y of another backend", "Normalize2ndMoment", "y", s => s.B.Normalize2ndMomentForward(s.T(2, 5), s.Foreign(2, 5))),
        Arg("Normalize2ndMomentBackward: dx of [2, 4]", "Normalize2ndMoment", "dx", s => s.B.Normalize2ndMomentBackward(s.T(2, 5), s.T(2, 5), s.T(2, 4))),
        Arg("Normalize2ndMomentBackward: dy of [5, 2]", "Normalize2ndMoment", "dy", s => s.B.Normalize2ndMomentBackward(s.T(2, 5), s.T(5, 2), s.T(2, 5))),
        Disposed("Normalize2ndMomentBackward: disposed dy", "Normalize2ndMoment", "dy", s => s.B.Normalize2ndMomentBackward(s.T(2, 5), s.Disposed(2, 5), s.T(2, 5))),
        Alias("Normalize2ndMomentBackward: dx is x", "Normalize2ndMoment", "dx", "x", s =>
        {
            var x = s.T(2, 5);
            s.B.Normalize2ndMomentBackward(x, s.T(2, 5), x);
        }),
    ];

    // x [2, 3, 4, 4] → y [3].
    public static IReadOnlyList<BadCall> SumOverBatchAndSpace { get; } =
    [
        Arg("SumOverBatchAndSpaceForward: y of [4]", "SumOverBatchAndSpace", "y", s => s.B.SumOverBatchAndSpaceForward(s.T(2, 3, 4, 4), s.T(4))),
        Arg("SumOverBatchAndSpaceForward: y of [1, 3]", "SumOverBatchAndSpace", "y", s => s.B.SumOverBatchAndSpaceForward(s.T(2, 3, 4, 4), s.T(1, 3))),
        Arg("SumOverBatchAndSpaceForward: x of rank 2", "SumOverBatchAndSpace", "x", s => s.B.SumOverBatchAndSpaceForward(s.T(2, 3), s.T(3))),
        Arg("SumOverBatchAndSpaceForward: y of another backend", "SumOverBatchAndSpace", "y", s => s.B.SumOverBatchAndSpaceForward(s.T(2, 3, 4, 4), s.Foreign(3))),
        Arg("SumOverBatchAndSpaceBackward: dx of rank 3", "SumOverBatchAndSpace", "dx", s => s.B.SumOverBatchAndSpaceBackward(s.T(3), s.T(2, 3, 16))),
        Arg("SumOverBatchAndSpaceBackward: dy of [4]", "SumOverBatchAndSpace", "dy", s => s.B.SumOverBatchAndSpaceBackward(s.T(4), s.T(2, 3, 4, 4))),
        Disposed("SumOverBatchAndSpaceBackward: disposed dx", "SumOverBatchAndSpace", "dx", s => s.B.SumOverBatchAndSpaceBackward(s.T(3), s.Disposed(2, 3, 4, 4))),
    ];
}
