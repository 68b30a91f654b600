using GrpcExplain.StyleGan.Training;
using GrpcExplain.StyleGan.Training.Augmentation;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Training.Gan;

/// <summary>
/// Everything a training run needs to continue exactly where it was: the minibatches done, G, G_ema
/// and D with every buffer, both optimisers' moments and step counts (in the order of
/// <see cref="GeneratorWeights.Config"/>'s ParameterShapes and the discriminator's), and the
/// augmentation controller. Random draws are functions of (seed, step), so nothing else is needed.
/// </summary>
public sealed record GanSnapshot(
    GanConfig Config,
    long Step,
    GeneratorWeights Generator,
    GeneratorWeights GeneratorEma,
    DiscriminatorWeights Discriminator,
    AdamState GeneratorAdam,
    AdamState DiscriminatorAdam,
    AdaptiveAugmentState? Ada)
{
    public long ImagesSeen => Step * Config.Batch;

    public double Kimg => ImagesSeen / 1000.0;
}

/// <summary>What one minibatch did: the mean losses, the mean R1 penalty when this step regularised, and the augmentation.</summary>
public sealed record GanStepReport(long Step, double GeneratorLoss, double DiscriminatorLoss, double? R1Penalty, double AugmentP, double? AdaRt);
