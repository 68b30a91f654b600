namespace GrpcExplain.Kernels.Ilgpu;

// Placeholder bodies until the kernels land; each op family then gets its own file.
public sealed partial class IlgpuBackend
{
    private static NotImplementedException Todo(string op) => new($"IlgpuBackend: {op} is not written yet.");
    protected override void FullyConnectedForwardCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, FullyConnectedParams p) => throw Todo("FullyConnectedForward");
    protected override void FullyConnectedBackwardCore(Tensor x, Tensor weight, Tensor y, Tensor dy, Tensor? dx, Tensor? dWeight, Tensor? dBias, FullyConnectedParams p) => throw Todo("FullyConnectedBackward");
    protected override void Normalize2ndMomentForwardCore(Tensor x, Tensor y) => throw Todo("Normalize2ndMomentForward");
    protected override void Normalize2ndMomentBackwardCore(Tensor x, Tensor dy, Tensor dx) => throw Todo("Normalize2ndMomentBackward");
    protected override void Upfirdn2dForwardCore(Tensor x, Tensor y, Upfirdn2dParams p) => throw Todo("Upfirdn2dForward");
    protected override void Upfirdn2dBackwardCore(Tensor dy, Tensor dx, Upfirdn2dParams p) => throw Todo("Upfirdn2dBackward");
    protected override void BiasActivateForwardCore(Tensor x, Tensor? bias, Tensor? noise, Tensor? noiseStrength, Tensor y, BiasActivateParams p) => throw Todo("BiasActivateForward");
    protected override void BiasActivateBackwardCore(Tensor y, Tensor dy, Tensor? noise, Tensor? noiseStrength, Tensor? dx, Tensor? dBias, Tensor? dNoise, Tensor? dNoiseStrength, BiasActivateParams p) => throw Todo("BiasActivateBackward");
    protected override void SumOverBatchAndSpaceForwardCore(Tensor x, Tensor y) => throw Todo("SumOverBatchAndSpaceForward");
    protected override void SumOverBatchAndSpaceBackwardCore(Tensor dy, Tensor dx) => throw Todo("SumOverBatchAndSpaceBackward");
    internal override void ConvForwardCore(Tensor x, Tensor weight, Tensor y, ConvGeometry g, Tensor? inScale, Tensor? outScale) => throw Todo("ConvForward");
    internal override void ConvBackwardDataCore(Tensor dy, Tensor weight, Tensor dx, ConvGeometry g, Tensor? dyScale, Tensor? dxScale) => throw Todo("ConvBackwardData");
    internal override void ConvBackwardWeightCore(Tensor x, Tensor dy, Tensor dWeight, ConvGeometry g, Tensor? xScale, Tensor? dyScale) => throw Todo("ConvBackwardWeight");
    internal override void DemodulateCore(Tensor weight, Tensor styles, Tensor d) => throw Todo("Demodulate");
    internal override void ModulateBackwardCore(Tensor x, Tensor dxs, Tensor styles, Tensor? dx, Tensor? dStyles) => throw Todo("ModulateBackward");
    internal override void DemodulateBackwardCore(Tensor weight, Tensor styles, Tensor d, Tensor y, Tensor dy, Tensor? dStyles, Tensor? dWeight) => throw Todo("DemodulateBackward");
}
