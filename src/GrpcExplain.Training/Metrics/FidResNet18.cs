using System.Runtime.ExceptionServices;
using GrpcExplain.Training.Data;
using Microsoft.ML.OnnxRuntime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace GrpcExplain.Training.Metrics;

/// <summary>
/// FID-ResNet18: FID on the 512 pooled features of the ImageNet ResNet18 that ML.NET's image featurizer
/// ships as ONNX (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1, whose build props copy
/// <c>DnnImageModels/</c> into the output folder). Not Inception-v3 FID: its numbers compare only with
/// each other. The package holds two graphs, run here exactly as ML.NET chains them:
/// <list type="bullet">
/// <item><c>ResNetPrepOnnx/ResNetPreprocess.onnx</c> (producer "TLC"): input <c>OriginalInput</c> float
/// [1, 3, 224, 224], RGB planes in 0..255 (ML.NET's ExtractPixels defaults); it splits the planes, concatenates
/// them as BGR and subtracts a 224x224 per-pixel mean image (about 104-125 per channel): Caffe-style
/// preprocessing, no division by a standard deviation; output <c>PreprocessedInput</c>.</item>
/// <item><c>ResNet18Onnx/ResNet18.onnx</c> (producer CNTK, 64 MB): input <c>Input247</c> float [1, 3, 224, 224],
/// output <c>Pooling395_Output_0</c> float [1, 512, 1, 1], the global average pool after the last residual
/// stage (non-negative, after ReLU). Both graphs fix the batch at 1, so images run one at a time.</item>
/// </list>
/// An image at the model's resolution (uint8 planes, or a generated tensor in [-1, 1] rounded to uint8 as a
/// saved PNG would be) is resized to 224x224 with ImageSharp's bicubic resampler (ML.NET resizes to 224 too);
/// grey images repeat their plane into R, G and B. Real and generated images take the same path.
/// </summary>
public sealed class FidResNet18 : IDisposable
{
    public const int FeatureDimension = 512;
    public const int InputResolution = 224;
    private const string PrepInput = "OriginalInput", PrepOutput = "PreprocessedInput", NetInput = "Input247", NetOutput = "Pooling395_Output_0";

    private readonly InferenceSession _prep;
    private readonly InferenceSession _net;
    private readonly RunOptions _run = new();

    private FidResNet18(InferenceSession prep, InferenceSession net)
    {
        _prep = prep;
        _net = net;
    }

    /// <summary>Where the package's build props put the models: DnnImageModels/ beside this assembly.</summary>
    public static string DefaultModelDirectory => Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    /// <summary>
    /// Loads both graphs from <paramref name="modelDirectory"/> (default <see cref="DefaultModelDirectory"/>) and
    /// checks their signatures. One operator thread per run by default: statistics run one image per core, which
    /// on these 2-core machines measured ~40 ms an image (64x64 RGB), faster than one image on both cores.
    /// </summary>
    public static FidResNet18 Load(string? modelDirectory = null, int intraOpThreads = 1)
    {
        string dir = Path.GetFullPath(modelDirectory ?? DefaultModelDirectory);
        string prepPath = Path.Combine(dir, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        string netPath = Path.Combine(dir, "ResNet18Onnx", "ResNet18.onnx");
        foreach (string path in new[] { prepPath, netPath })
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"{path}: missing; FID-ResNet18 needs the ONNX files of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 (a PackageReference copies them to DnnImageModels/ in the output folder).", path);
        }
        using var options = new SessionOptions { IntraOpNumThreads = intraOpThreads };
        var prep = new InferenceSession(prepPath, options);
        InferenceSession? net = null;
        try
        {
            net = new InferenceSession(netPath, options);
            Expect(prepPath, prep, PrepInput, PrepOutput, [1, 3, InputResolution, InputResolution]);
            Expect(netPath, net, NetInput, NetOutput, [1, FeatureDimension, 1, 1]);
            return new FidResNet18(prep, net);
        }
        catch
        {
            prep.Dispose();
            net?.Dispose();
            throw;
        }
    }

    /// <summary>The 512 features of one image given as C x R x R uint8 planes (C = 1 or 3).</summary>
    public float[] Features(ReadOnlySpan<byte> planes, int channels, int resolution)
    {
        var input = ToInput(planes, channels, resolution);
        using var x = OrtValue.CreateTensorValueFromMemory(input, [1, 3, InputResolution, InputResolution]);
        using var prepped = _prep.Run(_run, [PrepInput], [x], [PrepOutput]);
        using var features = _net.Run(_run, [NetInput], [prepped[0]], [NetOutput]);
        return features[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>The features of one generated image, C x R x R floats in [-1, 1], rounded to uint8 first.</summary>
    public float[] FeaturesOfTensor(ReadOnlySpan<float> image, int channels, int resolution)
    {
        var planes = new byte[image.Length];
        Preprocess.ToBytes(image, planes);
        return Features(planes, channels, resolution);
    }

    /// <summary>Statistics of images <paramref name="indices"/> of a cache (all when null), reporting images done.</summary>
    public FeatureStatistics Statistics(PackedCache cache, IReadOnlyList<int>? indices = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        int n = indices?.Count ?? cache.Count;
        return Statistics(n, i => cache.Image(indices?[i] ?? i).ToArray(), cache.Channels, cache.Resolution, progress, cancellationToken);
    }

    /// <summary>Statistics of <paramref name="count"/> generated images, NCHW floats in [-1, 1].</summary>
    public FeatureStatistics StatisticsOfTensors(float[] images, int count, int channels, int resolution, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        int size = channels * resolution * resolution;
        if (images.Length != count * size) throw new ArgumentException($"{count} images of {channels}x{resolution}x{resolution} need {count * size} floats, got {images.Length}.", nameof(images));
        return Statistics(count, i =>
        {
            var planes = new byte[size];
            Preprocess.ToBytes(images.AsSpan(i * size, size), planes);
            return planes;
        }, channels, resolution, progress, cancellationToken);
    }

    private FeatureStatistics Statistics(int count, Func<int, byte[]> image, int channels, int resolution, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        var features = new float[count * FeatureDimension];
        int done = 0;
        var gate = new object();
        // Batch 1 is fixed in the graphs, so images run side by side, one per core (one operator thread each);
        // capped at the cores, or the thread pool keeps adding threads to the long loop (170 after 20 minutes).
        try
        {
            Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                Features(image(i), channels, resolution).CopyTo(features.AsSpan(i * FeatureDimension));
                int now = Interlocked.Increment(ref done);
                if (progress is not null && (now % 64 == 0 || now == count))
                {
                    lock (gate) progress.Report(now);
                }
            });
        }
        catch (AggregateException e)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return FeatureStatistics.FromFeatures(features, count, FeatureDimension);
    }

    /// <summary>RGB planes in 0..255 at 224 x 224: grey repeated, resized bicubic when the resolution differs.</summary>
    internal static float[] ToInput(ReadOnlySpan<byte> planes, int channels, int resolution)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 or 3.");
        int plane = resolution * resolution;
        if (planes.Length != channels * plane) throw new ArgumentException($"{channels}x{resolution}x{resolution} planes need {channels * plane} bytes, got {planes.Length}.", nameof(planes));
        var pixels = new Rgb24[plane];
        for (int i = 0; i < plane; i++)
        {
            pixels[i] = channels == 1
                ? new Rgb24(planes[i], planes[i], planes[i])
                : new Rgb24(planes[i], planes[plane + i], planes[2 * plane + i]);
        }
        using var image = Image.LoadPixelData<Rgb24>(pixels, resolution, resolution);
        if (resolution != InputResolution) image.Mutate(x => x.Resize(InputResolution, InputResolution, KnownResamplers.Bicubic));
        const int Out = InputResolution * InputResolution;
        var resized = new Rgb24[Out];
        image.CopyPixelDataTo(resized);
        var input = new float[3 * Out];
        for (int i = 0; i < Out; i++)
        {
            input[i] = resized[i].R;
            input[Out + i] = resized[i].G;
            input[2 * Out + i] = resized[i].B;
        }
        return input;
    }

    private static void Expect(string path, InferenceSession session, string input, string output, int[] outputShape)
    {
        bool ok = session.InputMetadata.TryGetValue(input, out var i) && i.Dimensions.SequenceEqual([1, 3, InputResolution, InputResolution])
            && session.OutputMetadata.TryGetValue(output, out var o) && o.Dimensions.SequenceEqual(outputShape);
        if (!ok)
        {
            throw new InvalidDataException($"{path}: expected input '{input}' [1, 3, {InputResolution}, {InputResolution}] and output '{output}' [{string.Join(", ", outputShape)}]; " +
                $"the model has inputs {string.Join(", ", session.InputMetadata.Select(m => $"'{m.Key}' [{string.Join(", ", m.Value.Dimensions)}]"))} " +
                $"and outputs {string.Join(", ", session.OutputMetadata.Select(m => $"'{m.Key}' [{string.Join(", ", m.Value.Dimensions)}]"))}.");
        }
    }

    public void Dispose()
    {
        _prep.Dispose();
        _net.Dispose();
        _run.Dispose();
    }
}
