using System.CommandLine;

namespace GrpcExplain.Cli.Train;

/// <summary><c>grpcexplain train gan|classifier</c>: the StyleGAN2 and the reference classifier on a dataset.</summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        return new Command("train", "Train a StyleGAN2 (gan) or the reference classifier (classifier) on a folder of images or a MedMNIST .npz, or a generator's encoder (encoder) on its own samples.")
        {
            TrainGanCommand.Create(stdout, stderr, interactive, cancellation),
            TrainClassifierCommand.Create(stdout, stderr, interactive, cancellation),
            TrainEncoderCommand.Create(stdout, stderr, interactive, cancellation),
        };
    }
}
