namespace GrpcExplain.Kernels.Cpu;

public sealed partial class CpuBackend
{
    internal override void ConvForwardCore(Tensor x, Tensor weight, Tensor y, ConvGeometry g, Tensor? inScale, Tensor? outScale) => throw new NotImplementedException();
    internal override void ConvBackwardDataCore(Tensor dy, Tensor weight, Tensor dx, ConvGeometry g, Tensor? dyScale, Tensor? dxScale) => throw new NotImplementedException();
    internal override void ConvBackwardWeightCore(Tensor x, Tensor dy, Tensor dWeight, ConvGeometry g, Tensor? xScale, Tensor? dyScale) => throw new NotImplementedException();
}
