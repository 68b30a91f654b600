using GrpcExplain.Kernels;
using NativeBench.Cases;
using static NativeBench.Cases.ModulatedConvCase.Kind;
using static NativeBench.Cases.Conv2dCase.Kind;
using static NativeBench.Cases.Upfirdn2dCase.Kind;

namespace NativeBench;

/// <summary>
/// A StyleGAN2 configuration as stylegan2-ada-pytorch defines it: channels(res) = min(channel_base/res,
/// channel_max). We take z_dim = w_dim = min(512, channel_max) (256 for 64x64 and 128x128, 512 for 256x256)
/// and 3 image channels.
/// </summary>
internal sealed record StyleGan2Config(int Resolution, int ChannelBase, int ChannelMax)
{
    public const int ImgChannels = 3, MappingLayers = 8;
    public const float ConvClamp = 256;

    public static IReadOnlyList<StyleGan2Config> Known { get; } = [new(64, 4096, 256), new(128, 8192, 256), new(256, 16384, 512)];

    public string Name => $"{Resolution}x{Resolution}";
    public int WDim => Math.Min(512, ChannelMax);
    public int Channels(int res) => Math.Min(ChannelBase / res, ChannelMax);

    private static readonly FullyConnectedParams Mapping = new(LrMul: 0.01f, LeakyRelu: true);

    /// <summary>
    /// Every kernel call of a generator forward (mapping, then synthesis block by block) and the
    /// convolutions of the resnet discriminator of the same size, named after the layers that make them.
    /// </summary>
    public IEnumerable<(string Layer, KernelCase Case)> Layers(int n)
    {
        yield return ("G.mapping.norm", new Normalize2ndMomentCase(n, WDim));
        for (int l = 0; l < MappingLayers; l++) yield return ($"G.mapping.fc{l}", new FullyConnectedCase(n, WDim, WDim, Mapping));

        for (int r = 4; r <= Resolution; r *= 2)
        {
            int c = Channels(r);
            if (r > 4) // block 4 starts from a learned constant instead of conv0
            {
                yield return ($"G.b{r}.conv0", new ModulatedConvCase(Up3x3, n, Channels(r / 2), c, r / 2, r / 2));
                yield return ($"G.b{r}.conv0", new BiasActCase(n, c, r, r));
            }
            yield return ($"G.b{r}.conv1", new ModulatedConvCase(SameRes, n, c, c, r, r));
            yield return ($"G.b{r}.conv1", new BiasActCase(n, c, r, r));
            yield return ($"G.b{r}.conv1.bias_grad", new ReductionCase(n, c, r, r));
            yield return ($"G.b{r}.torgb", new ModulatedConvCase(ToRgb, n, c, ImgChannels, r, r));
            if (r > 4) yield return ($"G.b{r}.skip", new Upfirdn2dCase(Up2, n, ImgChannels, r / 2, r / 2));
        }

        for (int r = Resolution; r >= 8; r /= 2)
        {
            int c = Channels(r), cNext = Channels(r / 2);
            if (r == Resolution) yield return ($"D.b{r}.fromrgb", new Conv2dCase(Conv1x1, n, ImgChannels, c, r, r));
            yield return ($"D.b{r}.conv0", new Conv2dCase(Conv3x3, n, c, c, r, r));
            yield return ($"D.b{r}.conv1", new Upfirdn2dCase(Pad2, n, c, r, r));
            yield return ($"D.b{r}.conv1", new Conv2dCase(Conv3x3Stride2, n, c, cNext, r + 1, r + 1));
            yield return ($"D.b{r}.skip", new Upfirdn2dCase(Down2, n, c, r, r));
            yield return ($"D.b{r}.skip", new Conv2dCase(Conv1x1, n, c, cNext, r / 2, r / 2));
        }
        yield return ("D.b4.conv", new Conv2dCase(Conv3x3, n, Channels(4) + 1, Channels(4), 4, 4)); // +1: minibatch stddev
    }
}

/// <summary>One distinct shape of one op, with every configuration and layer that uses it.</summary>
internal sealed record BenchCase(KernelCase Case, IReadOnlyList<string> Configs, IReadOnlyList<string> Layers);

internal static class StyleGan2Layers
{
    /// <summary>The order rows are printed in: the generator's ops first, heaviest family first.</summary>
    public static IReadOnlyList<string> OpOrder { get; } =
    [
        "modulated_conv3x3", "modulated_conv3x3_up", "torgb", "bias_act", "upfirdn2d_up2", "sum_over_batch_and_space",
        "fully_connected", "normalize_2nd_moment",
        "conv2d_3x3", "conv2d_3x3_s2", "conv2d_1x1", "upfirdn2d_pad2", "upfirdn2d_down2",
    ];

    /// <summary>The distinct cases of these configurations and batch sizes, identical shapes merged.</summary>
    public static IReadOnlyList<BenchCase> Cases(IEnumerable<StyleGan2Config> configs, IEnumerable<int> batches)
    {
        var byKey = new Dictionary<string, (KernelCase Case, List<string> Configs, List<string> Layers)>();
        foreach (var config in configs)
            foreach (var n in batches)
                foreach (var (layer, c) in config.Layers(n))
                {
                    if (!byKey.TryGetValue(c.Key, out var entry)) byKey[c.Key] = entry = (c, [], []);
                    if (!entry.Configs.Contains(config.Name)) entry.Configs.Add(config.Name);
                    var name = $"{config.Name}:{layer}";
                    if (!entry.Layers.Contains(name)) entry.Layers.Add(name);
                }
        return [.. byKey.Values
            .OrderBy(e => OpOrder.IndexOf(e.Case.Op))
            .ThenBy(e => e.Case.Batch)
            .ThenBy(e => e.Case.Flops(Direction.Forward))
            .ThenBy(e => e.Case.Key, StringComparer.Ordinal)
            .Select(e => new BenchCase(e.Case, e.Configs, e.Layers))];
    }

    private static int IndexOf(this IReadOnlyList<string> list, string item)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == item) return i;
        return list.Count;
    }
}
