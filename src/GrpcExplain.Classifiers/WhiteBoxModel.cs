using System.Globalization;
using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Kernels;

namespace GrpcExplain.Classifiers;

/// <summary>
/// The white-box side of a model whose repository folder holds <c>reference.safetensors</c> beside its
/// ONNX graph (see <see cref="ReferenceCnnExport"/>): the reference CNN on our kernels (CPU backend), which
/// gives what ONNX Runtime cannot, d(logit)/d(input) and Grad-CAM. It takes the model's input tensor as the
/// ONNX graph does ([N, C, R, R], FP32), so gradients are with respect to that tensor; clients chain them
/// through their own preprocessing (<see cref="InputGradient"/>). One network per model, one pass at a time:
/// calls queue for it.
/// </summary>
public sealed class WhiteBoxModel : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly ReferenceCnn _network;

    private WhiteBoxModel(ReferenceCnn network, string path) => (_network, WeightsPath) = (network, path);

    public string WeightsPath { get; }

    public ReferenceCnnConfig Config => _network.Config;

    /// <summary>The file that makes the model in <paramref name="modelFolder"/> a white box.</summary>
    public static string WeightsFile(string modelFolder) => Path.Combine(modelFolder, ReferenceCnnExport.WeightsFileName);

    /// <summary>The white box of a model folder, or null when it has no <c>reference.safetensors</c> (a black box).</summary>
    public static WhiteBoxModel? TryLoad(string modelFolder)
    {
        string path = WeightsFile(modelFolder);
        if (!File.Exists(path)) return null;
        var weights = ReferenceCnnWeights.Load(path);
        var backend = Backends.Create(BackendKind.Cpu);
        try
        {
            return new WhiteBoxModel(new ReferenceCnn(backend, weights), path);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> unless <paramref name="onnx"/> is the same network: one FP32
    /// input [N, C, R, R] of the CNN's size, an output <paramref name="logitsOutput"/> (or its only output) of
    /// [N, classes], and the same logits on a test image. A stale <c>reference.safetensors</c> beside a
    /// retrained ONNX graph would otherwise give gradients of another network.
    /// </summary>
    public void CheckAgainst(OnnxModel onnx, string? logitsOutput, string what)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        var c = Config;
        string network = $"{WeightsPath} ({c.ImgChannels}x{c.ImgResolution}x{c.ImgResolution}, {c.ClassCount} classes)";
        if (onnx.Inputs is not [var input] || input.Type != DataType.Fp32 || input.Shape.Count != 4
            || !Fits(input.Shape[1], c.ImgChannels) || !Fits(input.Shape[2], c.ImgResolution) || !Fits(input.Shape[3], c.ImgResolution))
            throw new InvalidDataException($"{network} does not fit {what}: the ONNX model takes {string.Join(", ", onnx.Inputs)}; " +
                $"a white box takes one FP32 image [N, {c.ImgChannels}, {c.ImgResolution}, {c.ImgResolution}].");
        var output = logitsOutput is null ? (onnx.Outputs.Count == 1 ? onnx.Outputs[0] : null) : onnx.Outputs.FirstOrDefault(o => o.Name == logitsOutput);
        if (output is null || output.Type != DataType.Fp32 || output.Shape.Count != 2 || !Fits(output.Shape[1], c.ClassCount))
            throw new InvalidDataException($"{network} does not fit {what}: the ONNX model gives {string.Join(", ", onnx.Outputs)}; " +
                $"its logits{(logitsOutput is null ? "" : $" '{logitsOutput}'")} should be FP32 [N, {c.ClassCount}].");

        int batch = input.Shape[0] > 0 ? (int)input.Shape[0] : 1;
        var probe = new float[batch * _network.ImageLength];
        for (int i = 0; i < probe.Length; i++) probe[i] = MathF.Sin(0.37f * i + 0.11f);
        var ours = _network.Logits(probe, batch);
        var theirs = onnx.Run([Tensor.Fp32(input.Name, [batch, c.ImgChannels, c.ImgResolution, c.ImgResolution], probe)], [output.Name], CancellationToken.None)[0].Floats;
        double scale = Math.Max(1, ours.Max(Math.Abs)), worst = ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
        if (!(worst <= 1e-3 * scale))
            throw new InvalidDataException($"{network} is not the network of {what}: their logits differ by up to {worst.ToString("G3", CultureInfo.InvariantCulture)} " +
                $"on a test image (largest logit {scale.ToString("G3", CultureInfo.InvariantCulture)}); write both from the same weights.");
    }

    /// <summary>d(logit of <paramref name="targetClass"/>)/d(input) for each of the <paramref name="count"/> inputs [N, C, R, R]; same shape.</summary>
    public Task<float[]> LogitGradientAsync(float[] input, int count, int targetClass, CancellationToken cancellationToken) =>
        InTurnAsync(() => _network.LogitGradient(input, count, targetClass).ImageGradient, cancellationToken);

    /// <summary>Grad-CAM of <paramref name="targetClass"/> for each input, [N, R, R] in [0, 1].</summary>
    public Task<float[]> GradCamAsync(float[] input, int count, int targetClass, CancellationToken cancellationToken) =>
        InTurnAsync(() =>
        {
            int length = _network.ImageLength, plane = Config.ImgResolution * Config.ImgResolution;
            if (input.Length != count * length)
                throw new ArgumentException($"Expected {count * length} values for {count} inputs, got {input.Length}.", nameof(input));
            var maps = new float[count * plane];
            for (int n = 0; n < count; n++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _network.GradCam(input.AsSpan(n * length, length).ToArray(), targetClass).CopyTo(maps, n * plane);
            }
            return maps;
        }, cancellationToken);

    private async Task<float[]> InTurnAsync(Func<float[]> work, CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(work, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }

    private static bool Fits(long declared, int actual) => declared == -1 || declared == actual;

    public void Dispose()
    {
        var backend = _network.Backend;
        _network.Dispose();
        backend.Dispose();
        _turn.Dispose();
    }
}
