using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Inference;

namespace GrpcExplain.Classifier;

/// <summary>
/// One ModelInfer split between ONNX Runtime and the white box (<see cref="WhiteBoxOutputs"/>): which of the
/// requested outputs each computes and, for the white box, the target class, all checked before anything
/// runs. The ONNX model runs on every request, since it checks the inputs; when only white-box outputs are
/// asked for, its outputs are dropped.
/// </summary>
internal sealed record WhiteBoxInference(IReadOnlyList<string> Requested, IReadOnlyList<string> OnnxOutputs, IReadOnlyList<string> WhiteBoxOutputNames, int TargetClass)
{
    /// <summary>The plan of a request; InvalidInputException when it asks a black box for white-box outputs, or lacks a valid target_class.</summary>
    public static WhiteBoxInference Plan(ModelInferRequest request, string model, OnnxModel onnx, WhiteBoxModel? whiteBox)
    {
        var v = new List<InputViolation>();
        var requested = request.Outputs.Select(o => o.Name).ToList();
        var whiteBoxOutputs = new List<string>();
        for (int i = 0; i < requested.Count; i++)
        {
            string name = requested[i];
            if (!WhiteBoxOutputs.IsWhiteBoxOutput(name)) continue;
            if (whiteBox is null)
                v.Add(new($"outputs[{i}].name", $"model '{model}' is a black box (its folder has no {Classifiers.Reference.ReferenceCnnExport.WeightsFileName}), so it gives no '{name}'; " +
                    $"its outputs are {string.Join(", ", onnx.Outputs.Select(s => s.Name))}"));
            else if (whiteBoxOutputs.Contains(name))
                v.Add(new($"outputs[{i}].name", $"output '{name}' is asked for twice"));
            else
                whiteBoxOutputs.Add(name);
        }
        int targetClass = -1;
        if (whiteBox is not null && whiteBoxOutputs.Count > 0)
            targetClass = WhiteBoxOutputs.TargetClass(request, model, whiteBox.Config.ClassCount, string.Join(" and ", whiteBoxOutputs), v) ?? -1;
        if (v.Count > 0) throw new InvalidInputException(v);
        return new WhiteBoxInference(requested, [.. requested.Where(n => !WhiteBoxOutputs.IsWhiteBoxOutput(n))], whiteBoxOutputs, targetClass);
    }

    /// <summary>The requested outputs in the order asked (every ONNX output when none is named).</summary>
    public async Task<IReadOnlyList<Tensor>> RunAsync(OnnxModel onnx, WhiteBoxModel? whiteBox, IReadOnlyList<Tensor> inputs, CancellationToken cancellationToken)
    {
        var fromOnnx = await Task.Run(() => onnx.Run(inputs, OnnxOutputs, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (WhiteBoxOutputNames.Count == 0) return fromOnnx;
        // The ONNX model checked the input against its declaration; the white box needs its exact size too.
        var x = inputs[0];
        var c = whiteBox!.Config;
        long[] expected = [x.Shape[0], c.ImgChannels, c.ImgResolution, c.ImgResolution];
        if (!x.Shape.SequenceEqual(expected))
            throw new InvalidInputException([new("inputs[0].shape", $"the white box takes [N, {c.ImgChannels}, {c.ImgResolution}, {c.ImgResolution}], got [{string.Join(", ", x.Shape)}]")]);
        int n = (int)x.Shape[0];
        var results = fromOnnx.ToDictionary(t => t.Name);
        foreach (string name in WhiteBoxOutputNames)
        {
            results[name] = name == WhiteBoxOutputs.LogitGradient
                ? Tensor.Fp32(name, expected, await whiteBox.LogitGradientAsync(x.Floats, n, TargetClass, cancellationToken).ConfigureAwait(false))
                : Tensor.Fp32(name, [n, c.ImgResolution, c.ImgResolution], await whiteBox.GradCamAsync(x.Floats, n, TargetClass, cancellationToken).ConfigureAwait(false));
        }
        return [.. Requested.Select(name => results[name])];
    }
}
