using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Training;
using GrpcExplain.Training.Data;

namespace GrpcExplain.Training.Gan;

/// <summary>
/// Everything that fixes what a GAN run computes: the data and its preprocessing, both networks'
/// architecture, and the training hyperparameters (stylegan2-ada-pytorch's names where it has them).
/// A checkpoint records it, and a resumed run must ask for the same one: continuing with a different
/// batch or gamma would not be the run the checkpoint started. How long to train, how often to
/// snapshot and where the kernels run are not part of it (<see cref="GanRunOptions"/>).
/// Property names in JSON are the command line's option names with '_' for '-'.
/// </summary>
public sealed record GanConfig
{
    /// <summary>A folder with SPLIT/CLASS/files (train, val) or a MedMNIST .npz, as a full path.</summary>
    public required string Data { get; init; }

    public int Resolution { get; init; } = 64;

    /// <summary>1 (grey) or 3 (RGB).</summary>
    public int Channels { get; init; } = 3;

    public CropMode Fit { get; init; } = CropMode.Resize;

    public int ZDim { get; init; } = 256;
    public int WDim { get; init; } = 256;
    public int MappingLayers { get; init; } = 8;
    public int ChannelBase { get; init; } = 4096;
    public int ChannelMax { get; init; } = 256;

    /// <summary>stylegan2-ada-pytorch's training configs clamp every conv layer's output to ±256 in both networks.</summary>
    public float ConvClamp { get; init; } = 256f;

    public int Batch { get; init; } = 16;

    /// <summary>Adam's learning rate for G and D (0.0025, stylegan2-ada's 'auto' config below 1024x1024).</summary>
    public double Lr { get; init; } = 0.0025;

    /// <summary>R1 weight; stylegan2-ada's 'auto' heuristic is 0.0002·resolution²/batch (<see cref="AutoGamma"/>).</summary>
    public double Gamma { get; init; } = 0.0512;

    /// <summary>Lazy R1: one regularisation step per this many minibatches, with the penalty scaled by it.</summary>
    public int R1Interval { get; init; } = 16;

    /// <summary>Probability that a minibatch's ws switch to a second z from a random layer on.</summary>
    public double StyleMixing { get; init; } = 0.9;

    /// <summary>
    /// G_ema's half-life grows with the run: at most this fraction of the images seen so far (stylegan2-ada's
    /// 'auto' config, 0.05), so early sample grids show the generator rather than its initialisation; null: none.
    /// </summary>
    public double? EmaRampup { get; init; } = 0.05;

    /// <summary>Adaptive discriminator augmentation on reals and fakes (off: p stays 0).</summary>
    public bool Ada { get; init; } = true;

    public double AdaTarget { get; init; } = 0.6;

    /// <summary>Thousands of real images over which p may travel from 0 to 1 (NVIDIA's ada_kimg).</summary>
    public double AdaKimg { get; init; } = 100;

    /// <summary>Every random draw of the run derives from it: initial weights, latents, noise, augmentation, the order of the reals.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// A trained generator (generator.safetensors: G_ema with its metadata, as a full path) whose weights
    /// start both G and G_ema instead of the seed's initialisation, as for fine-tuning on new data. D, both
    /// optimisers and ADA start fresh, so this is no substitute for a run's checkpoint: on the bundled
    /// generators the fresh D went flat once G moved and FID rose (their model cards). Null: no warm start.
    /// </summary>
    public string? WarmStart { get; init; }

    /// <summary>
    /// Thousands of reals at the start of the run over which only D trains (G's phase measures its loss
    /// but does not step), so that a fresh discriminator learns to tell a warm-started generator's images
    /// from the reals before its gradients move G. 0: none.
    /// </summary>
    public double DWarmupKimg { get; init; }

    /// <summary>
    /// Thousands of reals after D's warm-up over which G's learning rate rises linearly from 0 to <see cref="Lr"/>.
    /// A discriminator trained against a fixed generator is brittle: on the bundled generators full-size G
    /// steps left it flat within 0.25 kimg; a ramp slowed that (4 kimg) but did not stop it. 0: none.
    /// </summary>
    public double GLrRampupKimg { get; init; }

    /// <summary>stylegan2-ada's 'auto' R1 weight: 0.0002·resolution²/batch.</summary>
    public static double AutoGamma(int resolution, int batch) => 0.0002 * resolution * resolution / batch;

    /// <summary>The generator's half-life in thousands of images: batch·10/32, as stylegan2-ada's 'auto' config.</summary>
    [JsonIgnore]
    public double EmaKimg => Batch * 10.0 / 32;

    /// <summary>The minibatch-stddev group: 4 as NVIDIA, or the largest size below it that divides the batch.</summary>
    [JsonIgnore]
    public int MbstdGroupSize => Enumerable.Range(1, Math.Min(4, Batch)).Reverse().First(g => Batch % g == 0);

    [JsonIgnore]
    public GeneratorConfig Generator => new(ZDim, CDim: 0, WDim, Resolution, Channels, MappingLayers, ChannelBase, ChannelMax, ConvClamp, "skip");

    [JsonIgnore]
    public DiscriminatorConfig Discriminator => new(Resolution, Channels, CDim: 0, ChannelBase, ChannelMax, ConvClamp, "resnet", MbstdGroupSize, MbstdNumChannels: 1);

    /// <summary>Throws ArgumentException naming the first setting that is out of range.</summary>
    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }
        Require(!string.IsNullOrWhiteSpace(Data), "data: no dataset given.");
        Require(Resolution is >= 8 and <= 1024 && (Resolution & (Resolution - 1)) == 0, $"resolution must be a power of two from 8 to 1024, got {Resolution}.");
        Require(Channels is 1 or 3, $"channels must be 1 (grey) or 3 (RGB), got {Channels}.");
        Require(ZDim >= 1 && WDim >= 1, $"z_dim ({ZDim}) and w_dim ({WDim}) must be at least 1.");
        Require(MappingLayers is >= 1 and <= 8, $"mapping_layers must be 1 to 8, got {MappingLayers}.");
        Require(ChannelMax >= 1 && ChannelBase >= Resolution, $"channel_base ({ChannelBase}) must be at least the resolution ({Resolution}) and channel_max ({ChannelMax}) at least 1, so that every layer has a channel.");
        Require(Batch >= 2, $"batch must be at least 2 (the minibatch standard deviation needs a group), got {Batch}.");
        Require(Lr > 0 && double.IsFinite(Lr), $"lr must be positive, got {Lr}.");
        Require(Gamma >= 0 && double.IsFinite(Gamma), $"gamma must be 0 or more, got {Gamma}.");
        Require(R1Interval >= 1, $"r1_interval must be at least 1, got {R1Interval}.");
        Require(StyleMixing is >= 0 and <= 1, $"style_mixing must be a probability, got {StyleMixing}.");
        Require(EmaRampup is null or > 0, $"ema_rampup must be positive or none, got {EmaRampup}.");
        Require(AdaTarget is >= 0 and <= 1, $"ada_target must be in [0, 1], got {AdaTarget}.");
        Require(AdaKimg > 0 && double.IsFinite(AdaKimg), $"ada_kimg must be positive, got {AdaKimg}.");
        Require(DWarmupKimg >= 0 && double.IsFinite(DWarmupKimg), $"d_warmup_kimg must be 0 or more, got {DWarmupKimg}.");
        Require(GLrRampupKimg >= 0 && double.IsFinite(GLrRampupKimg), $"g_lr_rampup_kimg must be 0 or more, got {GLrRampupKimg}.");
        Require(WarmStart is null || WarmStart.Length > 0, "warm_start: an empty path.");
        Generator.Validate();
        Discriminator.Validate();
    }

    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public JsonObject ToJson() => (JsonObject)JsonSerializer.SerializeToNode(this, Json)!;

    public static GanConfig FromJson(JsonNode node) =>
        node.Deserialize<GanConfig>(Json) ?? throw new InvalidDataException("The run's configuration is missing.");

    /// <summary>
    /// The settings that differ, each as "name: checkpoint A, now B" (empty when none): what a resumed
    /// run tells its user instead of silently training something else.
    /// </summary>
    public IReadOnlyList<string> Differences(GanConfig requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
        var mine = ToJson();
        var theirs = requested.ToJson();
        return [.. mine.Where(p => !JsonNode.DeepEquals(p.Value, theirs[p.Key]))
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}: the checkpoint has {p.Value?.ToJsonString() ?? "null"}, this run asks for {theirs[p.Key]?.ToJsonString() ?? "null"}"))];
    }
}
