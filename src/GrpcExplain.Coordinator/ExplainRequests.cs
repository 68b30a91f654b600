using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Oip;
using GrpcExplain.Classifiers.Reference;
using GrpcExplain.Explain;
using GrpcExplain.Explain.Directions;
using GrpcExplain.Explain.Generation;
using GrpcExplain.Explain.Walks;
using GrpcExplain.Protos.V1;
using ProtoDirectionMethod = GrpcExplain.Protos.V1.DirectionMethod;

namespace GrpcExplain.Coordinator;

/// <summary>
/// Checks Explain and FitDirection requests before any work and turns them into the method's jobs,
/// with the service's defaults for unset fields. Every problem is reported at once (INVALID_ARGUMENT
/// with google.rpc.BadRequest).
/// </summary>
internal static class ExplainRequests
{
    public static void CheckClassifierModel(ClassifierModel? model, string request)
    {
        if (string.IsNullOrWhiteSpace(model?.Name)) throw BadRequestBuilder.Single(request, "classifier_model.name", "is empty: name the classifier model (as its Open Inference Protocol server knows it).");
    }

    public static ExplainJob Job(ExplainRequest r, GeneratorInfo generator, IClassifier classifier, CoordinatorServiceOptions options)
    {
        var errors = new BadRequestBuilder(nameof(ExplainRequest));
        CheckFits(classifier, generator, errors);
        var image = ImageFiles.Read(r.Image, "image", generator.ImageChannels, generator.ImageResolution, ImageFiles.Fit(r.ImageFit, errors) ?? classifier.Description.Fit, options.MaxImagePixels, errors);
        CheckTargetClass(r.TargetClass, classifier, errors);

        var method = r.DirectionMethod switch
        {
            ProtoDirectionMethod.Unspecified or ProtoDirectionMethod.LinearProbe => Explain.DirectionMethod.LinearProbe,
            ProtoDirectionMethod.Gradient => Explain.DirectionMethod.Gradient,
            ProtoDirectionMethod.BlackBoxGradientEstimate => Explain.DirectionMethod.BlackBoxGradientEstimate,
            _ => (Explain.DirectionMethod?)null,
        };
        if (method is null) errors.Add("direction_method", $"{(int)r.DirectionMethod} is not a DirectionMethod.");
        if (method == Explain.DirectionMethod.Gradient && classifier is not IImageGradientClassifier)
            errors.Add("direction_method", $"DIRECTION_METHOD_GRADIENT needs a white-box classifier, and '{classifier.Description.Model}' is a black box: its server's ModelMetadata " +
                $"lists no '{WhiteBoxOutputs.LogitGradient}' output (our classifier service gives image gradients for models with {ReferenceCnnExport.WeightsFileName} beside their ONNX file): " +
                "use DIRECTION_METHOD_BLACK_BOX_GRADIENT_ESTIMATE (the same gradient, estimated from predictions) or DIRECTION_METHOD_LINEAR_PROBE.");
        if (r.DirectionId.Length > 0 && method != Explain.DirectionMethod.LinearProbe)
            errors.Add("direction_id", "names a stored linear-probe direction: set it only with DIRECTION_METHOD_LINEAR_PROBE.");

        int frames = r.NumFrames == 0 ? options.DefaultNumFrames : r.NumFrames;
        if (frames < 2 || frames > options.MaxNumFrames) errors.Add("num_frames", $"must be from 2 to {options.MaxNumFrames} (0 for the default, {options.DefaultNumFrames}), got {r.NumFrames}.");
        WalkPlan walk = new AlphaRangeWalk(options.DefaultAlphaStart, options.DefaultAlphaEnd, frames);
        switch (r.WalkCase)
        {
            case ExplainRequest.WalkOneofCase.AlphaRange:
                var range = r.AlphaRange;
                if (!float.IsFinite(range.AlphaStart) || !float.IsFinite(range.AlphaEnd) || range.AlphaStart == range.AlphaEnd)
                    errors.Add("alpha_range", $"alpha_start and alpha_end must be finite and differ, got {range.AlphaStart} and {range.AlphaEnd}.");
                walk = new AlphaRangeWalk(range.AlphaStart, range.AlphaEnd, frames);
                break;
            case ExplainRequest.WalkOneofCase.UntilProbability:
                var until = r.UntilProbability;
                if (!(until.TargetProbability_ > 0 && until.TargetProbability_ <= 1))
                    errors.Add("until_probability.target_probability", $"must be above 0 and at most 1, got {until.TargetProbability_}.");
                if (!(until.MaxAbsAlpha > 0) || !float.IsFinite(until.MaxAbsAlpha))
                    errors.Add("until_probability.max_abs_alpha", $"must be positive and finite, got {until.MaxAbsAlpha}.");
                walk = new UntilProbabilityWalk(until.TargetProbability_, until.MaxAbsAlpha, frames);
                break;
        }

        var encoding = r.Encoding ?? new EncodingOptions();
        if (encoding.LatentSpace is not (LatentSpace.Unspecified or LatentSpace.W or LatentSpace.WPlus))
            errors.Add("encoding.latent_space", $"{(int)encoding.LatentSpace} is not a LatentSpace.");
        if (encoding.NumSteps < 0 || encoding.NumSteps > options.MaxProjectionSteps)
            errors.Add("encoding.num_steps", $"must be from 0 (the generator's default) to {options.MaxProjectionSteps}, got {encoding.NumSteps}.");
        errors.ThrowIfAny();
        var projection = new ProjectionOptions(encoding.LatentSpace == LatentSpace.WPlus, encoding.NumSteps, encoding.OptimizeNoise);
        return new ExplainJob(image!, r.TargetClass, method!.Value, walk, projection, DefaultProbeSettings(options));
    }

    /// <summary>A stored direction named by the request must belong to this generator, classifier and class.</summary>
    public static StoredDirection CheckStoredDirection(StoredDirection? stored, string id, DirectionKey expected)
    {
        if (stored is null) throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.NotFound, $"No stored direction has id '{id}'."));
        var key = stored.Key;
        if (key.GeneratorSha256 != expected.GeneratorSha256 || key.ClassifierName != expected.ClassifierName || key.TargetClass != expected.TargetClass)
            throw BadRequestBuilder.Single(nameof(ExplainRequest), "direction_id",
                $"direction '{id}' was fitted for classifier '{key.ClassifierName}' class {key.TargetClass} on generator {Short(key.GeneratorSha256)}, " +
                $"not classifier '{expected.ClassifierName}' class {expected.TargetClass} on generator {Short(expected.GeneratorSha256)}.");
        return stored;
    }

    public static ProbeSettings FitSettings(FitDirectionRequest r, IClassifier classifier, GeneratorInfo generator, CoordinatorServiceOptions options)
    {
        var errors = new BadRequestBuilder(nameof(FitDirectionRequest));
        CheckFits(classifier, generator, errors);
        CheckTargetClass(r.TargetClass, classifier, errors);
        int samples = r.NumSamples == 0 ? options.DefaultProbeSamples : r.NumSamples;
        if (samples < 10 || samples > options.MaxProbeSamples) errors.Add("num_samples", $"must be from 10 to {options.MaxProbeSamples} (0 for the default, {options.DefaultProbeSamples}), got {r.NumSamples}.");
        double heldOut = r.HeldOutFraction == 0 ? options.DefaultHeldOutFraction : r.HeldOutFraction;
        if (!(heldOut > 0 && heldOut < 1)) errors.Add("held_out_fraction", $"must be between 0 and 1 (0 for the default, {options.DefaultHeldOutFraction}), got {r.HeldOutFraction}.");
        float psi = r.HasTruncationPsi ? r.TruncationPsi : 1f;
        if (!float.IsFinite(psi)) errors.Add("truncation_psi", $"must be finite, got {psi}.");
        errors.ThrowIfAny();
        return new ProbeSettings(samples, heldOut, psi, r.Seed, options.ProbeL2);
    }

    private static ProbeSettings DefaultProbeSettings(CoordinatorServiceOptions options) =>
        new(options.DefaultProbeSamples, options.DefaultHeldOutFraction, 1f, 0, options.ProbeL2);

    private static void CheckTargetClass(int targetClass, IClassifier classifier, BadRequestBuilder errors)
    {
        int classes = classifier.Description.ClassLabels.Count;
        if (targetClass < 0 || targetClass >= classes)
            errors.Add("target_class", $"must be from 0 to {classes - 1} (classifier '{classifier.Description.Model}' has classes {string.Join(", ", classifier.Description.ClassLabels)}), got {targetClass}.");
    }

    /// <summary>The classifier must take the generator's images as they are (no resizing here).</summary>
    private static void CheckFits(IClassifier classifier, GeneratorInfo generator, BadRequestBuilder errors)
    {
        var d = classifier.Description;
        if (d.Channels != generator.ImageChannels || d.Height != generator.ImageResolution || d.Width != generator.ImageResolution)
            errors.Add("classifier_model", $"classifier '{d.Model}' takes {d.Channels}x{d.Height}x{d.Width} images and the generator makes " +
                $"{generator.ImageChannels}x{generator.ImageResolution}x{generator.ImageResolution}: choose a classifier for this generator's images.");
    }

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;
}
