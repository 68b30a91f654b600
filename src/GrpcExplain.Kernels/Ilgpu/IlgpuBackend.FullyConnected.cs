using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    internal struct FcArgs
    {
        public Floats X, Weight, Bias, Y, Dy, Result;
        public int Batch, InF, OutF, HasBias, LeakyRelu;
        public float WeightGain, LrMul;
    }

    private Action<KernelConfig, FcArgs>? _fcForward;
    private Action<Index1D, FcArgs>? _fcBackwardX, _fcBackwardWeight, _fcBackwardBias;

    private FcArgs Fc(Tensor x, Tensor weight, Tensor? bias, Tensor y, Tensor? dy, FullyConnectedParams p) => new()
    {
        X = V(x), Weight = V(weight), Bias = VOrNone(bias), Y = V(y), Dy = VOrNone(dy), Result = _none.View,
        Batch = x.Shape[0], InF = x.Shape[1], OutF = weight.Shape[0], HasBias = Flag(bias is not null), LeakyRelu = Flag(p.LeakyRelu),
        WeightGain = p.WeightGain(x.Shape[1]), LrMul = p.LrMul,
    };

    protected override void FullyConnectedForwardCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, FullyConnectedParams p)
    {
        _fcForward ??= _accelerator.LoadStreamKernel<FcArgs>(FcForwardKernel);
        var a = Fc(x, weight, bias, y, null, p);
        _fcForward(ReduceGrid(a.Batch * a.OutF), a);
    }

    protected override void FullyConnectedBackwardCore(Tensor x, Tensor weight, Tensor y, Tensor dy, Tensor? dx, Tensor? dWeight, Tensor? dBias, FullyConnectedParams p)
    {
        var a = Fc(x, weight, null, y, dy, p);
        if (dx is not null)
        {
            _fcBackwardX ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, FcArgs>(FcBackwardXKernel);
            _fcBackwardX(dx.Length, a with { Result = V(dx) });
        }
        if (dWeight is not null)
        {
            _fcBackwardWeight ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, FcArgs>(FcBackwardWeightKernel);
            _fcBackwardWeight(dWeight.Length, a with { Result = V(dWeight) });
        }
        if (dBias is not null)
        {
            _fcBackwardBias ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, FcArgs>(FcBackwardBiasKernel);
            _fcBackwardBias(dBias.Length, a with { Result = V(dBias) });
        }
    }

    /// <summary>One group per output (n, o): W's row is read contiguously and summed across the group.</summary>
    private static void FcForwardKernel(FcArgs a)
    {
        int n = Grid.IdxX / a.OutF, o = Grid.IdxX - n * a.OutF;
        float s = 0;
        for (int i = Group.IdxX; i < a.InF; i += Group.DimX) s += a.X[n * a.InF + i] * a.Weight[o * a.InF + i];
        s = GroupReduce.Sum(s);
        if (Group.IdxX != 0) return;
        float z = s * a.WeightGain + (a.HasBias != 0 ? a.Bias[o] * a.LrMul : 0f);
        a.Y[Grid.IdxX] = a.LeakyRelu != 0 ? (z > 0 ? z : 0.2f * z) * MathF.Sqrt(2f) : z;
    }

    /// <summary>Gradient at the pre-activation; y's sign is the pre-activation's.</summary>
    private static float FcDz(FcArgs a, int j) =>
        a.LeakyRelu != 0 ? a.Dy[j] * MathF.Sqrt(2f) * (a.Y[j] > 0 ? 1f : 0.2f) : a.Dy[j];

    // The backward kernels give each thread one output and loop over the short reduced axis;
    // neighbouring threads read neighbouring columns, so the loads coalesce.

    private static void FcBackwardXKernel(Index1D j, FcArgs a)
    {
        int n = j / a.InF, i = j - n * a.InF;
        float s = 0;
        for (int o = 0; o < a.OutF; o++) s += FcDz(a, n * a.OutF + o) * a.Weight[o * a.InF + i];
        a.Result[j] = s * a.WeightGain;
    }

    private static void FcBackwardWeightKernel(Index1D j, FcArgs a)
    {
        int o = j / a.InF, i = j - o * a.InF;
        float s = 0;
        for (int n = 0; n < a.Batch; n++) s += FcDz(a, n * a.OutF + o) * a.X[n * a.InF + i];
        a.Result[j] = s * a.WeightGain;
    }

    private static void FcBackwardBiasKernel(Index1D o, FcArgs a)
    {
        float s = 0;
        for (int n = 0; n < a.Batch; n++) s += FcDz(a, n * a.OutF + o);
        a.Result[o] = s * a.LrMul;
    }
}
