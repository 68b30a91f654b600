using System.Diagnostics;
using System.Globalization;
using GrpcExplain.Cli.IO;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Latents;
using GrpcExplain.StyleGan.Weights;

namespace GrpcExplain.Cli.Synthesize;

// Inside the namespace, so that it wins over GrpcExplain.Generator (the service host, referenced for grpcexplain serve).
using Generator = GrpcExplain.StyleGan.Generator;

/// <summary>
/// Runs a checked <see cref="SynthesizeRequest"/>: loads the generator, maps and synthesizes batch by
/// batch, and streams images.npy, the PNGs and the grid into the output folder. Every file is written
/// under a temporary name and renamed into place when complete.
/// </summary>
internal static class SynthesizeRun
{
    public const string ImagesFile = "images.npy";
    public const string GridFile = "grid.png";

    public static int Execute(SynthesizeRequest request, TextWriter stdout, ConsoleProgress progress, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var weights = GeneratorWeights.Load(request.WeightsPath);
        var config = weights.Config;
        var latents = request.Seeds is { } seeds ? LatentBatch.FromSeeds(seeds, config) : LatentBatch.FromNpy(request.LatentsPath!, request.Space, config);
        int? classIndex = CheckClass(request.ClassIndex, latents.Space, config);
        PrepareOutputDirectory(request.OutputDirectory);
        var loading = clock.Elapsed;

        clock.Restart();
        using var backend = Backends.Create(request.Backend);
        using var generator = new Generator(backend, weights);
        var startup = clock.Elapsed;

        int n = latents.Count, channels = config.ImgChannels, res = config.ImgResolution, imageLength = channels * res * res;
        bool pngs = ImageFiles.CanWrite(channels);
        var grid = pngs ? new ImageGrid(n, channels, res, res) : null;
        TimeSpan mapping = default, synthesis = default, writing = default;
        string imagesPath = Path.Combine(request.OutputDirectory, ImagesFile);
        using (var images = AtomicFile.Create(imagesPath))
        {
            Npy.WriteHeader(images.Stream, [n, channels, res, res]);
            progress.Report("images", 0, n);
            for (int start = 0; start < n; start += request.BatchSize)
            {
                cancellation.ThrowIfCancellationRequested();
                int batch = Math.Min(request.BatchSize, n - start);
                clock.Restart();
                var ws = Ws(generator, latents, start, batch, classIndex, request);
                mapping += clock.Elapsed;
                clock.Restart();
                var output = generator.Synthesize(ws, batch, request.Noise, unchecked(request.NoiseSeed + start));
                synthesis += clock.Elapsed;
                clock.Restart();
                Npy.WriteData(images.Stream, output);
                for (int i = 0; pngs && i < batch; i++)
                {
                    var bytes = ImageFiles.ToInterleavedBytes(output.AsSpan(i * imageLength, imageLength), channels, res, res);
                    ImageFiles.WritePng(Path.Combine(request.OutputDirectory, latents.ImageNames[start + i] + ".png"), bytes, channels, res, res);
                    grid!.Place(start + i, bytes);
                }
                writing += clock.Elapsed;
                progress.Report("images", start + batch, n);
            }
            clock.Restart();
            images.Commit();
        }
        grid?.WritePng(Path.Combine(request.OutputDirectory, GridFile));
        writing += clock.Elapsed;

        Summarize(stdout, request, weights, latents, backend, grid, (loading, startup, mapping, synthesis, writing));
        return ExitCodes.Success;
    }

    /// <summary>z goes through the mapping network (with truncation); w and W+ are truncated here, when asked, and used as given.</summary>
    private static float[] Ws(Generator generator, LatentBatch latents, int start, int batch, int? classIndex, SynthesizeRequest request)
    {
        var rows = latents.Rows(start, batch);
        var config = generator.Config;
        if (latents.Space == LatentSpace.Z)
        {
            var c = classIndex is { } k ? SeededLatents.OneHot(k, config.CDim, batch) : null;
            return generator.Map(rows, batch, c, request.TruncationPsi, request.TruncationCutoff);
        }
        return WTruncation.Apply(rows, batch, latents.Layers, config.NumWs, generator.Weights["mapping.w_avg"].Data,
            request.TruncationPsi, request.TruncationCutoff, out _);
    }

    /// <summary>The class is part of z's input to the mapping network; w already carries it.</summary>
    private static int? CheckClass(int? classIndex, LatentSpace space, GeneratorConfig config)
    {
        if (space == LatentSpace.W)
            return classIndex is null ? null
                : throw new UsageException("--class has no effect on w latents (w already carries the class); leave it out.");
        if (config.CDim == 0)
            return classIndex is null ? null
                : throw new UsageException("--class: this generator is unconditional (c_dim 0); leave --class out.");
        if (classIndex is not { } k)
            throw new UsageException($"this generator is conditional (c_dim {config.CDim}): choose a class with --class C (0 to {config.CDim - 1}).");
        return k < config.CDim ? k
            : throw new UsageException($"--class {k}: this generator has classes 0 to {config.CDim - 1}.");
    }

    private static void PrepareOutputDirectory(string path)
    {
        if (File.Exists(path)) throw new IOException($"--out '{path}' is a file; give a folder (it is created when missing).");
        Directory.CreateDirectory(path);
    }

    private static void Summarize(TextWriter stdout, SynthesizeRequest request, GeneratorWeights weights, LatentBatch latents, Backend backend,
        ImageGrid? grid, (TimeSpan Loading, TimeSpan Startup, TimeSpan Mapping, TimeSpan Synthesis, TimeSpan Writing) time)
    {
        var config = weights.Config;
        string Ms(TimeSpan t) => t.TotalMilliseconds.ToString(t.TotalMilliseconds < 10 ? "F2" : "F0", CultureInfo.InvariantCulture) + " ms";
        string channels = config.ImgChannels switch { 1 => "grey", 3 => "RGB", 4 => "RGBA", var c => $"{c} channels" };
        string truncation = request.TruncationPsi == 1f ? "none"
            : $"psi {request.TruncationPsi.ToString(CultureInfo.InvariantCulture)}" + (request.TruncationCutoff is { } k ? $" on the first {k} of {config.NumWs} ws" : "");
        string noise = request.Noise == NoiseMode.Random ? $"random (seed {request.NoiseSeed})" : request.Noise.ToString().ToLowerInvariant();
        string pngs = grid is null ? $"no PNGs ({config.ImgChannels} channels)"
            : $"{latents.Count} PNG{(latents.Count == 1 ? "" : "s")} ({latents.ImageNames[0]}.png{(latents.Count > 1 ? $" … {latents.ImageNames[^1]}.png" : "")}), {GridFile} {grid.Width}x{grid.Height}";

        stdout.WriteLine($"generator  {weights.ContentHash[..16]}  {config.ImgResolution}x{config.ImgResolution} {channels}, z_dim {config.ZDim}, c_dim {config.CDim}, w_dim {config.WDim}, num_ws {config.NumWs}");
        stdout.WriteLine($"backend    {backend.Name} on {backend.Device}");
        stdout.WriteLine($"latents    {latents.Description}; truncation {truncation}; noise {noise}");
        stdout.WriteLine($"time       synthesis {Ms(time.Synthesis)} ({Ms(time.Synthesis / latents.Count)} per image, batches of {request.BatchSize}), mapping {Ms(time.Mapping)}, " +
            $"loading {Ms(time.Loading)}, backend start {Ms(time.Startup)}, writing {Ms(time.Writing)}");
        stdout.WriteLine($"wrote      {Path.Combine(request.OutputDirectory, ImagesFile)} [{latents.Count}, {config.ImgChannels}, {config.ImgResolution}, {config.ImgResolution}], {pngs}");
    }
}
