using System.Globalization;
using GrpcExplain.Kernels;

namespace GrpcExplain.Cli.Train;

/// <summary>The option values the network-training commands share, parsed with the same messages.</summary>
internal static class NetworkOptions
{
    /// <summary>--network-channels: positive integers separated by commas.</summary>
    public static int[] Channels(string text, string example)
    {
        try
        {
            return [.. text.Split(',').Select(c => int.Parse(c.Trim(), NumberStyles.None, CultureInfo.InvariantCulture))];
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UsageException($"--network-channels '{text}': give positive integers separated by commas, e.g. {example}.");
        }
    }

    /// <summary>--backend: one of <see cref="Backends.Names"/>.</summary>
    public static BackendKind Backend(string text)
    {
        try
        {
            return Backends.Parse(text);
        }
        catch (ArgumentException)
        {
            throw new UsageException($"--backend '{text}': choose one of {string.Join(", ", Backends.Names)}.");
        }
    }
}
