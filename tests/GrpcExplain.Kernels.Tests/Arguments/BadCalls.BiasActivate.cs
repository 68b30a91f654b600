using static GrpcExplain.Kernels.Tests.Arguments.BadCall;

namespace GrpcExplain.Kernels.Tests.Arguments;

/// <summary>Bad calls of the fused epilogue.</summary>
public static partial class BadCalls
{
    private static readonly BiasActivateParams Act = BiasActivateParams.LeakyRelu(256);

    // x, y [2, 3, 4, 4], bias [3], noise [1 or 2, 1, 4, 4], strength [1].
    public static IReadOnlyList<BadCall> BiasActivate { get; } =
    [
        Arg("BiasActivateForward: noise without a strength", "BiasActivate", "noise_strength", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.T(3), s.T(2, 1, 4, 4), null, s.T(2, 3, 4, 4), Act)),
        Arg("BiasActivateForward: noise for 3 samples of 2", "BiasActivate", "noise", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.T(3), s.T(3, 1, 4, 4), s.T(1), s.T(2, 3, 4, 4), Act)),
        Arg("BiasActivateForward: noise with 3 channels", "BiasActivate", "noise", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.T(3), s.T(2, 3, 4, 4), s.T(1), s.T(2, 3, 4, 4), Act)),
        Arg("BiasActivateForward: noise of 4x5 for a 4x4 map", "BiasActivate", "noise", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.T(3), s.T(1, 1, 4, 5), s.T(1), s.T(2, 3, 4, 4), Act)),
        Arg("BiasActivateForward: bias of 4 for 3 channels", "BiasActivate", "bias", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.T(4), null, null, s.T(2, 3, 4, 4), Act)),
        Arg("BiasActivateForward: strength of [2]", "BiasActivate", "noise_strength", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.T(3), s.T(2, 1, 4, 4), s.T(2), s.T(2, 3, 4, 4), Act)),
        Arg("BiasActivateForward: y of [2, 3, 4, 5]", "BiasActivate", "y", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.T(3), null, null, s.T(2, 3, 4, 5), Act)),
        Arg("BiasActivateForward: x of rank 3", "BiasActivate", "x", s => s.B.BiasActivateForward(s.T(3, 4, 4), s.T(3), null, null, s.T(3, 4, 4), Act)),
        Params("BiasActivateForward: slope -0.1", "BiasActivate", "slope", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), null, null, null, s.T(2, 3, 4, 4), new(-0.1f, 1f))),
        Params("BiasActivateForward: gain 0", "BiasActivate", "gain", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), null, null, null, s.T(2, 3, 4, 4), new(0.2f, 0f))),
        Params("BiasActivateForward: gain NaN", "BiasActivate", "gain", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), null, null, null, s.T(2, 3, 4, 4), new(0.2f, float.NaN))),
        Arg("BiasActivateForward: noise of another backend", "BiasActivate", "noise", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.T(3), s.Foreign(2, 1, 4, 4), s.T(1), s.T(2, 3, 4, 4), Act)),
        Disposed("BiasActivateForward: disposed bias", "BiasActivate", "bias", s => s.B.BiasActivateForward(s.T(2, 3, 4, 4), s.Disposed(3), null, null, s.T(2, 3, 4, 4), Act)),
        Arg("BiasActivateBackward: dNoise without noise", "BiasActivate", "dNoise", s => s.B.BiasActivateBackward(s.T(2, 3, 4, 4), s.T(2, 3, 4, 4), null, null, null, null, s.T(2, 1, 4, 4), null, Act)),
        Arg("BiasActivateBackward: dNoiseStrength without noise", "BiasActivate", "dNoiseStrength", s => s.B.BiasActivateBackward(s.T(2, 3, 4, 4), s.T(2, 3, 4, 4), null, null, null, null, null, s.T(1), Act)),
        Arg("BiasActivateBackward: dNoise of [1, 1, 4, 4] for per-sample noise", "BiasActivate", "dNoise", s => s.B.BiasActivateBackward(s.T(2, 3, 4, 4), s.T(2, 3, 4, 4), s.T(2, 1, 4, 4), s.T(1), null, null, s.T(1, 1, 4, 4), null, Act)),
        Arg("BiasActivateBackward: dBias of [4]", "BiasActivate", "dBias", s => s.B.BiasActivateBackward(s.T(2, 3, 4, 4), s.T(2, 3, 4, 4), null, null, null, s.T(4), null, null, Act)),
        Arg("BiasActivateBackward: dy of [2, 3, 4, 5]", "BiasActivate", "dy", s => s.B.BiasActivateBackward(s.T(2, 3, 4, 4), s.T(2, 3, 4, 5), null, null, s.T(2, 3, 4, 4), null, null, null, Act)),
        Arg("BiasActivateBackward: dx of [2, 3, 4, 5]", "BiasActivate", "dx", s => s.B.BiasActivateBackward(s.T(2, 3, 4, 4), s.T(2, 3, 4, 4), null, null, s.T(2, 3, 4, 5), null, null, null, Act)),
        Arg("BiasActivateBackward: y of rank 3", "BiasActivate", "y", s => s.B.BiasActivateBackward(s.T(3, 4, 4), s.T(3, 4, 4), null, null, s.T(3, 4, 4), null, null, null, Act)),
        Arg("BiasActivateBackward: noise of another backend", "BiasActivate", "noise", s => s.B.BiasActivateBackward(s.T(2, 3, 4, 4), s.T(2, 3, 4, 4), s.Foreign(2, 1, 4, 4), s.T(1), s.T(2, 3, 4, 4), null, null, null, Act)),
        Disposed("BiasActivateBackward: disposed dBias", "BiasActivate", "dBias", s => s.B.BiasActivateBackward(s.T(2, 3, 4, 4), s.T(2, 3, 4, 4), null, null, null, s.Disposed(3), null, null, Act)),
        Alias("BiasActivateBackward: dBias is dNoiseStrength (one channel)", "BiasActivate", "dBias", "dNoiseStrength", s =>
        {
            var g = s.T(1);
            s.B.BiasActivateBackward(s.T(2, 1, 4, 4), s.T(2, 1, 4, 4), s.T(2, 1, 4, 4), s.T(1), null, g, null, g, Act);
        }),
        Alias("BiasActivateBackward: dx is dNoise (one channel)", "BiasActivate", "dx", "dNoise", s =>
        {
            var g = s.T(2, 1, 4, 4);
            s.B.BiasActivateBackward(s.T(2, 1, 4, 4), s.T(2, 1, 4, 4), s.T(2, 1, 4, 4), s.T(1), g, null, g, s.T(1), Act);
        }),
    ];
}
