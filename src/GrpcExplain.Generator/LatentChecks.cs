using GrpcExplain.Protos.V1;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Projection;
using ProtoLatentSpace = GrpcExplain.Protos.V1.LatentSpace;
using ProtoNoiseMode = GrpcExplain.Protos.V1.NoiseMode;

namespace GrpcExplain.Generator;

/// <summary>A checked batch: values in C order, <see cref="Batch"/> rows of <see cref="RowLength"/>.</summary>
internal sealed record BatchTensor(long[] Shape, float[] Values, string Kind)
{
    public int Batch => (int)Shape[0];
    public int RowLength => Values.Length / Batch;
    public float[] Rows(int start, int count) => Values.AsSpan(start * RowLength, count * RowLength).ToArray();
}

/// <summary>
/// Checks a request against the generator before any work: shapes against z_dim, c_dim, w_dim,
/// num_ws and the image size, batches against the service's limits, values finite, enums known.
/// Every problem found is reported at once (INVALID_ARGUMENT, <see cref="RequestErrors"/>).
/// </summary>
internal sealed class LatentChecks(GeneratorConfig config, GeneratorServiceOptions options, string request)
{
    private readonly RequestErrors _errors = new(request);

    public GeneratorConfig Config => config;

    public (BatchTensor Z, BatchTensor? C, float Psi, int? Cutoff) Mapping(MapLatentsRequest r)
    {
        var z = Batch(r.Z, "z", s => s.Length == 2 && s[1] == config.ZDim ? null : Expected(s, $"[N, z_dim] = [N, {config.ZDim}]"));
        BatchTensor? c = null;
        if (config.CDim == 0)
        {
            if (r.C is not null) _errors.Add("c", "this generator is unconditional (c_dim 0): leave c unset.");
        }
        else if (r.C is null)
            _errors.Add("c", $"this generator is conditional (c_dim {config.CDim}): give c as [N, {config.CDim}], one-hot for a class.");
        else
            c = Batch(r.C, "c", s => s.Length == 2 && s[1] == config.CDim && (z is null || s[0] == z.Batch) ? null
                : Expected(s, $"[N, c_dim] = [{(z is null ? "N" : z.Batch)}, {config.CDim}], one row per z"));
        float psi = r.HasTruncationPsi ? r.TruncationPsi : 1f;
        if (!float.IsFinite(psi)) _errors.Add("truncation_psi", $"must be finite, got {psi}.");
        int? cutoff = r.HasTruncationCutoff ? r.TruncationCutoff : null;
        if (cutoff is { } k && (k < 0 || k > config.NumWs)) _errors.Add("truncation_cutoff", $"must be from 0 to num_ws ({config.NumWs}), got {k}.");
        _errors.ThrowIfAny();
        return (z!, c, psi, cutoff);
    }

    public (BatchTensor Ws, StyleGan.NoiseMode Noise, Dictionary<string, float[]>? NoiseMaps) Synthesis(SynthesizeRequest r)
    {
        var ws = Ws(r.Ws, "ws");
        var noise = Noise(r.NoiseMode, "noise_mode");
        var maps = NoiseMaps(r.NoiseMaps, r.NoiseMode);
        if (!r.IncludeTensor && !r.IncludePng)
            _errors.Add("include_tensor", "neither include_tensor nor include_png is set: ask for the images as a tensor, as PNGs or both.");
        if (r.IncludePng && !PngImages.CanEncode(config.ImgChannels))
            _errors.Add("include_png", $"this generator's images have {config.ImgChannels} channels and PNGs hold 1, 3 or 4: ask for include_tensor instead.");
        if (ws is not null)
        {
            // Found before the work rather than after it: a response over the limit would fail only once sent.
            long image = (long)config.ImgChannels * config.ImgResolution * config.ImgResolution;
            long perSample = (r.IncludeTensor ? image * sizeof(float) : 0) + (r.IncludePng ? image + 1024 : 0);
            if (perSample * ws.Batch > options.MaxMessageSizeBytes)
                _errors.Add("ws.shape", $"{ws.Batch} images make a response of up to {perSample * ws.Batch / 1e6:F1} MB, more than the {options.MaxMessageSizeBytes / 1e6:F1} MB " +
                    $"a message may hold: send at most {Math.Max(1, options.MaxMessageSizeBytes / perSample)} samples per request.");
        }
        _errors.ThrowIfAny();
        return (ws!, noise, maps);
    }

    public (BatchTensor Ws, BatchTensor ImageGradient, StyleGan.NoiseMode Noise, Dictionary<string, float[]>? NoiseMaps) Gradient(LatentGradientRequest r)
    {
        var ws = Ws(r.Ws, "ws");
        int c = config.ImgChannels, res = config.ImgResolution;
        var imageGradient = Batch(r.ImageGradient, "image_gradient", s => s.Length == 4 && s[1] == c && s[2] == res && s[3] == res && (ws is null || s[0] == ws.Batch) ? null
            : Expected(s, $"[N, image_channels, res, res] = [{(ws is null ? "N" : ws.Batch)}, {c}, {res}, {res}], one image per latent"));
        var noise = Noise(r.NoiseMode, "noise_mode");
        var maps = NoiseMaps(r.NoiseMaps, r.NoiseMode);
        if (r.IncludeNoiseGradients && noise == StyleGan.NoiseMode.None)
            _errors.Add("include_noise_gradients", "NOISE_MODE_NONE adds no noise, so there is no noise gradient: choose NOISE_MODE_CONST or NOISE_MODE_RANDOM, or leave it unset.");
        _errors.ThrowIfAny();
        return (ws!, imageGradient!, noise, maps);
    }

    /// <summary>
    /// The target image and how to project it: the request's zeros are the service's defaults
    /// (<see cref="GeneratorServiceOptions"/>) and <see cref="ProjectionOptions"/>' own; the progress interval comes back apart.
    /// </summary>
    public (float[] Target, ProjectionOptions Options, int ProgressInterval) Projection(ProjectRequest r, bool hasEncoder)
    {
        var target = TargetImages.Read(r.Image, "image", config, options, _errors);
        var defaults = new ProjectionOptions();
        var space = r.LatentSpace switch
        {
            ProtoLatentSpace.Unspecified or ProtoLatentSpace.W => StyleGan.Projection.LatentSpace.W,
            ProtoLatentSpace.WPlus => StyleGan.Projection.LatentSpace.WPlus,
            _ => Invalid("latent_space", $"{(int)r.LatentSpace} is not a LatentSpace: use LATENT_SPACE_W or LATENT_SPACE_W_PLUS.", StyleGan.Projection.LatentSpace.W),
        };
        var start = r.Start switch
        {
            Protos.V1.ProjectionStart.Unspecified => StyleGan.Projection.ProjectionStart.Auto,
            Protos.V1.ProjectionStart.WAvg => StyleGan.Projection.ProjectionStart.WAvg,
            Protos.V1.ProjectionStart.Encoder => StyleGan.Projection.ProjectionStart.Encoder,
            _ => Invalid("start", $"{(int)r.Start} is not a ProjectionStart: use PROJECTION_START_W_AVG or PROJECTION_START_ENCODER, or leave it unset.", StyleGan.Projection.ProjectionStart.Auto),
        };
        bool fromEncoder = hasEncoder && start != StyleGan.Projection.ProjectionStart.WAvg;
        int defaultSteps = fromEncoder ? options.ProjectionEncoderDefaultSteps : options.ProjectionDefaultSteps;
        if (r.NumSteps < 0 || r.NumSteps > options.ProjectionMaxSteps)
            _errors.Add("num_steps", $"must be from 1 to {options.ProjectionMaxSteps} (0 for the service's {defaultSteps}), got {r.NumSteps}.");
        if (r.InitialLearningRate < 0 || !float.IsFinite(r.InitialLearningRate))
            _errors.Add("initial_learning_rate", $"must be positive and finite (0 for the default {defaults.InitialLearningRate}), got {r.InitialLearningRate}.");
        if (r.NoiseRegularizationWeight < 0 || !float.IsFinite(r.NoiseRegularizationWeight))
            _errors.Add("noise_regularization_weight", $"must be positive and finite (0 for the default {defaults.NoiseRegularizationWeight:G}), got {r.NoiseRegularizationWeight}.");
        else if (r.NoiseRegularizationWeight > 0 && !r.OptimizeNoise)
            _errors.Add("noise_regularization_weight", "weighs the noise maps' regulariser, but optimize_noise is not set: set it, or leave the weight 0.");
        if (r.ProgressIntervalSteps < 0) _errors.Add("progress_interval_steps", $"must not be negative (0 for every step), got {r.ProgressIntervalSteps}.");
        if (r.ReconstructionIntervalSteps < 0)
            _errors.Add("reconstruction_interval_steps", $"must not be negative (0 for the service's {options.ProjectionReconstructionIntervalSteps}), got {r.ReconstructionIntervalSteps}.");
        _errors.ThrowIfAny();
        var projection = defaults with
        {
            LatentSpace = space,
            Start = start,
            NumSteps = r.NumSteps > 0 ? r.NumSteps : defaultSteps,
            InitialLearningRate = r.InitialLearningRate > 0 ? r.InitialLearningRate : defaults.InitialLearningRate,
            WarmStartLearningRate = r.InitialLearningRate > 0 ? r.InitialLearningRate : defaults.WarmStartLearningRate,
            OptimizeNoise = r.OptimizeNoise,
            NoiseRegularizationWeight = r.NoiseRegularizationWeight > 0 ? r.NoiseRegularizationWeight : defaults.NoiseRegularizationWeight,
            Seed = r.Seed,
            // Reconstructions travel as PNGs: none for images PNG cannot hold.
            ReconstructionInterval = !PngImages.CanEncode(config.ImgChannels) ? 0
                : r.ReconstructionIntervalSteps > 0 ? r.ReconstructionIntervalSteps : options.ProjectionReconstructionIntervalSteps,
        };
        return (target!, projection, Math.Max(1, r.ProgressIntervalSteps));
    }

    /// <summary>The conv layers that add noise, in synthesis order (the stored noise_const maps' layers).</summary>
    public static IEnumerable<string> NoiseLayers(GeneratorConfig config) =>
        config.TensorShapes().Select(p => p.Name).Where(n => n.EndsWith(".noise_const", StringComparison.Ordinal)).Select(n => n[..^".noise_const".Length]);

    private BatchTensor? Ws(Tensor? tensor, string field)
    {
        int wDim = config.WDim, numWs = config.NumWs;
        var ws = Batch(tensor, field, s => (s.Length == 2 && s[1] == wDim) || (s.Length == 3 && s[1] == numWs && s[2] == wDim) ? null
            : Expected(s, $"[N, w_dim] = [N, {wDim}] (w) or [N, num_ws, w_dim] = [N, {numWs}, {wDim}] (W+)"));
        return ws is null ? null : ws with { Kind = $"{(ws.Shape.Length == 2 ? "w" : "W+")} {TensorCodec.ShapeText(ws.Shape)}" };
    }

    private BatchTensor? Batch(Tensor? tensor, string field, Func<long[], string?> checkShape)
    {
        var read = TensorCodec.Read(tensor, field, _errors, s => s.Length == 0 ? Expected(s, "a batch, [N, ...]")
            : s[0] > options.MaxBatchSize ? $"{TensorCodec.ShapeText(s)} holds {s[0]} samples, more than the {options.MaxBatchSize} a request may carry (GetModelInfo max_batch_size): split the batch."
            : checkShape(s));
        return read is { } r ? new BatchTensor(r.Shape, r.Values, field) : null;
    }

    /// <summary>
    /// A request's own noise maps, by layer as [r, r]: none, or exactly one [1, 1, r, r] map of finite
    /// values for every noise layer, with no noise_mode beside them but the stored maps' (which they replace).
    /// </summary>
    private Dictionary<string, float[]>? NoiseMaps(Google.Protobuf.Collections.MapField<string, Tensor> given, ProtoNoiseMode mode)
    {
        if (given.Count == 0) return null;
        if (mode is not (ProtoNoiseMode.Unspecified or ProtoNoiseMode.Const))
            _errors.Add("noise_maps", $"replace the noise a noise_mode gives, so noise_mode must be unset (or NOISE_MODE_CONST) beside them, got {mode}.");
        var layers = config.TensorShapes().Where(p => p.Name.EndsWith(".noise_const", StringComparison.Ordinal))
            .ToDictionary(p => p.Name[..^".noise_const".Length], p => p.Shape[^1]);
        var unknown = given.Keys.Where(k => !layers.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0) _errors.Add("noise_maps", $"no noise layer is called {string.Join(", ", unknown)}; the layers are {string.Join(", ", layers.Keys)}.");
        var missing = layers.Keys.Where(k => !given.ContainsKey(k)).ToList();
        if (missing.Count > 0) _errors.Add("noise_maps", $"give a map for every noise layer; missing {string.Join(", ", missing)}.");
        var maps = new Dictionary<string, float[]>();
        foreach (var (layer, r) in layers)
        {
            if (!given.TryGetValue(layer, out var tensor)) continue;
            var read = TensorCodec.Read(tensor, $"noise_maps[{layer}]", _errors, s => s.SequenceEqual([1L, 1, r, r]) ? null : Expected(s, $"[1, 1, {r}, {r}]"));
            if (read is { } values) maps[layer] = values.Values;
        }
        return maps;
    }

    private StyleGan.NoiseMode Noise(ProtoNoiseMode mode, string field)
    {
        switch (mode)
        {
            case ProtoNoiseMode.Unspecified or ProtoNoiseMode.Const: return StyleGan.NoiseMode.Const;
            case ProtoNoiseMode.Random: return StyleGan.NoiseMode.Random;
            case ProtoNoiseMode.None: return StyleGan.NoiseMode.None;
            default:
                _errors.Add(field, $"{(int)mode} is not a NoiseMode: use NOISE_MODE_CONST, NOISE_MODE_RANDOM or NOISE_MODE_NONE.");
                return StyleGan.NoiseMode.Const;
        }
    }

    private T Invalid<T>(string field, string description, T fallback)
    {
        _errors.Add(field, description);
        return fallback;
    }

    private static string Expected(long[] shape, string expected) => $"{TensorCodec.ShapeText(shape)} does not fit this generator: expected {expected}.";
}
