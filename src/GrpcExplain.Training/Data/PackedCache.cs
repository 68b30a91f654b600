using System.Buffers.Binary;
using System.Runtime.ExceptionServices;
using System.Text.Json;

namespace GrpcExplain.Training.Data;

/// <summary>What a cache was built from; a cache whose key differs from the dataset's is rebuilt.</summary>
public sealed record PackedCacheKey(string Source, string Split, string ListingHash, int Resolution, int Channels, CropMode Crop)
{
    public static PackedCacheKey Of(IImageDataset dataset, PreprocessOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(options);
        return new(dataset.Source, dataset.Split, dataset.ListingHash, options.Resolution, options.Channels, options.Crop);
    }
}

/// <summary>Images decoded into the cache so far, while it is built.</summary>
public readonly record struct PackedCacheProgress(int Done, int Total);

/// <summary>
/// A dataset decoded and preprocessed once, packed into one binary file, so that epochs read uint8 planes
/// instead of decoding JPEGs. Layout: the magic <c>GXPACK01</c>, a little-endian int32 length and a UTF-8
/// JSON header (the <see cref="PackedCacheKey"/>, count, classes, label mapping), int32 labels, then the
/// images as C x R x R uint8 planes one after another. It is written under a temporary name beside its
/// final path and renamed into place once complete, so a killed build leaves the previous file (or none),
/// never a half-written one; a file that is short, unreadable or of another key is rebuilt.
/// </summary>
public sealed class PackedCache
{
    private static readonly byte[] Magic = "GXPACK01"u8.ToArray();
    private const int ProgressEvery = 256;

    private readonly byte[] _images;
    private readonly int[] _labels;

    private PackedCache(string path, PackedCacheKey key, IReadOnlyList<string> classes, int labelCount, int[] labels, byte[] images, bool rebuilt)
    {
        Path = path;
        Key = key;
        Classes = classes;
        LabelCount = labelCount;
        _labels = labels;
        _images = images;
        WasRebuilt = rebuilt;
    }

    public string Path { get; }

    public PackedCacheKey Key { get; }

    public IReadOnlyList<string> Classes { get; }

    public int LabelCount { get; }

    /// <summary>Whether this open decoded the dataset (no cache, or a stale or damaged one) rather than reading the file.</summary>
    public bool WasRebuilt { get; }

    public int Count => _labels.Length;

    public int Resolution => Key.Resolution;

    public int Channels => Key.Channels;

    public int ImageBytes => Key.Channels * Key.Resolution * Key.Resolution;

    public IReadOnlyList<int> Labels => _labels;

    /// <summary>Image <paramref name="index"/> as C x R x R uint8 planes.</summary>
    public ReadOnlySpan<byte> Image(int index) => _images.AsSpan(checked(index * ImageBytes), ImageBytes);

    public int Label(int index) => _labels[index];

    /// <summary>Images <paramref name="indices"/> as float NCHW in [-1, 1] and their labels.</summary>
    public void FillBatch(ReadOnlySpan<int> indices, Span<float> images, Span<int> labels)
    {
        int size = ImageBytes;
        if (images.Length != indices.Length * size || labels.Length != indices.Length)
            throw new ArgumentException($"a batch of {indices.Length} needs {indices.Length * size} floats and {indices.Length} labels; got {images.Length} and {labels.Length}.");
        for (int b = 0; b < indices.Length; b++)
        {
            Preprocess.ToFloat(Image(indices[b]), images.Slice(b * size, size));
            labels[b] = _labels[indices[b]];
        }
    }

    /// <summary>
    /// The cache at <paramref name="path"/> when its key matches the dataset and options; otherwise decodes the
    /// dataset (in parallel, reporting progress) and writes the file atomically. Cancellation leaves any previous file.
    /// </summary>
    public static PackedCache OpenOrBuild(IImageDataset dataset, PreprocessOptions options, string path,
        IProgress<PackedCacheProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var key = PackedCacheKey.Of(dataset, options);
        string full = System.IO.Path.GetFullPath(path);
        return TryOpen(full, key) ?? Build(dataset, options, full, progress, cancellationToken);
    }

    /// <summary>The cache at <paramref name="path"/> if it is complete and built for <paramref name="expected"/>, else null.</summary>
    public static PackedCache? TryOpen(string path, PackedCacheKey expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (!File.Exists(path)) return null;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            var prefix = new byte[Magic.Length + 4];
            stream.ReadExactly(prefix);
            if (!prefix.AsSpan(0, Magic.Length).SequenceEqual(Magic)) return null;
            int headerLength = BinaryPrimitives.ReadInt32LittleEndian(prefix.AsSpan(Magic.Length));
            if (headerLength is <= 0 or > 1 << 24) return null;
            var headerBytes = new byte[headerLength];
            stream.ReadExactly(headerBytes);
            var header = JsonSerializer.Deserialize<Header>(headerBytes);
            if (header is null || header.Key != expected || header.Count < 0) return null;
            int imageBytes = expected.Channels * expected.Resolution * expected.Resolution;
            long expectedLength = prefix.Length + headerLength + 4L * header.Count + (long)imageBytes * header.Count;
            if (stream.Length != expectedLength || (long)imageBytes * header.Count > Array.MaxLength) return null;
            var labelBytes = new byte[4 * header.Count];
            stream.ReadExactly(labelBytes);
            var labels = new int[header.Count];
            for (int i = 0; i < labels.Length; i++) labels[i] = BinaryPrimitives.ReadInt32LittleEndian(labelBytes.AsSpan(4 * i));
            var images = new byte[(long)imageBytes * header.Count];
            stream.ReadExactly(images);
            return new PackedCache(path, expected, header.Classes, header.LabelCount, labels, images, rebuilt: false);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static PackedCache Build(IImageDataset dataset, PreprocessOptions options, string path,
        IProgress<PackedCacheProgress>? progress, CancellationToken cancellationToken)
    {
        int n = dataset.Count;
        int size = options.ImageBytes;
        if ((long)size * n > Array.MaxLength)
            throw new InvalidOperationException($"{n} images of {size} bytes do not fit one cache; use a smaller resolution.");
        var images = new byte[(long)size * n];
        var labels = new int[n];
        int done = 0;
        var gate = new object();
        progress?.Report(new PackedCacheProgress(0, n));
        try
        {
            Parallel.For(0, n, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                using (var image = dataset.LoadImage(i))
                {
                    Preprocess.ToPlanes(image, options, images.AsSpan(i * size, size));
                }
                labels[i] = dataset.Label(i);
                int now = Interlocked.Increment(ref done);
                if (progress is not null && (now % ProgressEvery == 0 || now == n))
                {
                    lock (gate) progress.Report(new PackedCacheProgress(now, n));
                }
            });
        }
        catch (AggregateException e)
        {
            // The first image that failed says what is wrong (its path and why), not a wrapper.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        var key = PackedCacheKey.Of(dataset, options);
        var header = new Header(key, n, [.. dataset.Classes], dataset.Mapping.Description, dataset.LabelCount);
        WriteAtomically(path, stream =>
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
            stream.Write(Magic);
            Span<byte> word = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(word, json.Length);
            stream.Write(word);
            stream.Write(json);
            var labelBytes = new byte[4 * n];
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteInt32LittleEndian(labelBytes.AsSpan(4 * i), labels[i]);
            stream.Write(labelBytes);
            stream.Write(images);
        }, cancellationToken);
        return new PackedCache(path, key, header.Classes, header.LabelCount, labels, images, rebuilt: true);
    }

    /// <summary>Writes beside <paramref name="path"/> under a temporary name, flushes to disk, then renames over it.</summary>
    private static void WriteAtomically(string path, Action<Stream> write, CancellationToken cancellationToken)
    {
        string folder = System.IO.Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        string temporary = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private sealed record Header(PackedCacheKey Key, int Count, string[] Classes, string LabelMapping, int LabelCount);
}
