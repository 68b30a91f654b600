using GrpcExplain.Cli.IO;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Latents;

namespace GrpcExplain.Cli.Synthesize;

/// <summary>
/// The latents of one run, checked against the generator: z [N, z_dim], w [N, w_dim] (Layers 1) or
/// W+ [N, num_ws, w_dim] (Layers num_ws), with a file name for each image.
/// </summary>
internal sealed record LatentBatch(LatentSpace Space, int Count, int Layers, int Width, float[] Values, IReadOnlyList<string> ImageNames, string Description)
{
    public int RowLength => Layers * Width;

    public float[] Rows(int start, int count) => Values.AsSpan(start * RowLength, count * RowLength).ToArray();

    public static LatentBatch FromSeeds(IReadOnlyList<uint> seeds, GeneratorConfig config) =>
        new(LatentSpace.Z, seeds.Count, 1, config.ZDim, SeededLatents.Z(seeds, config.ZDim),
            [.. seeds.Select(s => $"seed{s:D4}")], $"seeds {SeedList.Format(seeds)} (z from NumPy's RandomState, as generate.py)");

    public static LatentBatch FromNpy(string path, LatentSpace? space, GeneratorConfig config)
    {
        var array = Npy.Read(path);
        var shape = array.Shape;
        string got = Npy.Text(shape);
        string zShape = $"[N, {config.ZDim}] (z, z_dim {config.ZDim})";
        string wShape = $"[N, {config.WDim}] (w, w_dim {config.WDim})";
        string wPlusShape = $"[N, {config.NumWs}, {config.WDim}] (W+, num_ws {config.NumWs})";
        InvalidDataException Mismatch(string expected, string hint = "") =>
            new($"{path}: latents of shape {got} do not fit this generator; expected {expected}{hint}.");

        (LatentSpace Space, int Layers, string Kind) kind = (shape.Length, space) switch
        {
            (2, LatentSpace.W) when shape[1] == config.WDim => (LatentSpace.W, 1, "w"),
            (2, LatentSpace.W) => throw Mismatch(wShape),
            (2, _) when shape[1] == config.ZDim => (LatentSpace.Z, 1, "z"),
            (2, null) when shape[1] == config.WDim => throw Mismatch(zShape, "; for w latents add --latent-space w"),
            (2, _) => throw Mismatch(zShape),
            (3, LatentSpace.Z) => throw Mismatch(zShape, "; [N, num_ws, w_dim] latents are W+, which is w space: leave out --latent-space z"),
            (3, _) when shape[1] == config.NumWs && shape[2] == config.WDim => (LatentSpace.W, config.NumWs, "W+"),
            (3, _) => throw Mismatch(wPlusShape),
            _ => throw Mismatch(space == LatentSpace.W ? $"{wShape} or {wPlusShape}" : space == LatentSpace.Z ? zShape : $"{zShape}, {wShape} or {wPlusShape}"),
        };
        if (shape[0] == 0) throw new InvalidDataException($"{path}: holds no latents (shape {got}).");
        int bad = Array.FindIndex(array.Data, v => !float.IsFinite(v));
        if (bad >= 0) throw new InvalidDataException($"{path}: latent {bad / (array.Data.Length / shape[0])} holds a non-finite value ({array.Data[bad]}).");

        int count = shape[0];
        return new LatentBatch(kind.Space, count, kind.Layers, shape[^1], array.Data,
            [.. Enumerable.Range(0, count).Select(i => $"latent{i:D4}")], $"{Path.GetFileName(path)}: {count} {kind.Kind} latents {got}");
    }
}
