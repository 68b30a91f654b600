using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Weights;
using GrpcExplain.Training.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Training.Gan;

/// <summary>
/// The run's picture of progress: G_ema's images for a fixed set of z (the same at every snapshot, drawn
/// from the run's seed), const noise and no truncation, tiled into one PNG, as NVIDIA's fakesNNNNNN.png.
/// </summary>
public static class SampleGrid
{
    public const int Columns = 8;

    /// <summary>The fixed latents, [count, z_dim].</summary>
    public static float[] Latents(GanConfig config, int count) => TrainingDraws.Gaussian(config.Seed, 0, DrawPurpose.SampleGridZ, count * config.ZDim);

    /// <summary>Renders <paramref name="count"/> samples of <paramref name="weights"/> and writes them as one PNG (atomically).</summary>
    public static void Write(string path, Backend backend, GeneratorWeights weights, GanConfig config, int count)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        var images = Synthesize(backend, weights, Latents(config, count), count);
        WritePng(path, images, count, config.Channels, config.Resolution);
    }

    /// <summary>G's images for z [count, z_dim], in batches of 8, const noise, psi 1.</summary>
    public static float[] Synthesize(Backend backend, GeneratorWeights weights, float[] z, int count, int batch = 8)
    {
        using var g = new Generator(backend, weights);
        var config = weights.Config;
        int size = config.ImgChannels * config.ImgResolution * config.ImgResolution;
        var images = new float[count * size];
        for (int start = 0; start < count; start += batch)
        {
            int n = Math.Min(batch, count - start);
            var ws = g.Map(z[(start * config.ZDim)..((start + n) * config.ZDim)], n);
            g.Synthesize(ws, n, NoiseMode.Const).CopyTo(images, start * size);
        }
        return images;
    }

    /// <summary>Images [count, C, R, R] in [-1, 1] as a grid of <see cref="Columns"/> columns, grey or RGB.</summary>
    public static void WritePng(string path, float[] images, int count, int channels, int resolution)
    {
        int columns = Math.Min(Columns, count), rows = (count + columns - 1) / columns, plane = resolution * resolution;
        using var grid = new Image<Rgb24>(columns * resolution, rows * resolution);
        var bytes = new byte[channels * plane];
        for (int i = 0; i < count; i++)
        {
            Preprocess.ToBytes(images.AsSpan(i * bytes.Length, bytes.Length), bytes);
            int x0 = i % columns * resolution, y0 = i / columns * resolution;
            for (int y = 0; y < resolution; y++)
                for (int x = 0; x < resolution; x++)
                {
                    int p = y * resolution + x;
                    grid[x0 + x, y0 + y] = channels == 1 ? new Rgb24(bytes[p], bytes[p], bytes[p]) : new Rgb24(bytes[p], bytes[plane + p], bytes[2 * plane + p]);
                }
        }
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temporary = full + ".partial";
        grid.Save(temporary, new PngEncoder());
        File.Move(temporary, full, overwrite: true);
    }
}
