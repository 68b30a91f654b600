using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GrpcExplain.Training.Data;

/// <summary>
/// A MedMNIST <c>.npz</c> (a zip of .npy arrays): <c>{split}_images</c> uint8 of shape (N, H, W) for grey
/// or (N, H, W, 3) for RGB, and <c>{split}_labels</c> of shape (N,) or (N, 1) in any integer type. Classes
/// are the label values 0 .. max, named by their number; the whole split is held in memory.
/// </summary>
public sealed class NpzDataset : IImageDataset
{
    private readonly byte[] _pixels;
    private readonly int[] _classOf;
    private readonly int[] _labelOfClass;

    private NpzDataset(string source, string split, byte[] pixels, int height, int width, int channels, int[] classOf, LabelMapping mapping, string listingHash)
    {
        Source = source;
        Split = split;
        _pixels = pixels;
        Height = height;
        Width = width;
        Channels = channels;
        _classOf = classOf;
        Classes = [.. Enumerable.Range(0, classOf.Max() + 1).Select(c => c.ToString(CultureInfo.InvariantCulture))];
        Mapping = mapping;
        _labelOfClass = mapping.Map(Classes);
        LabelCount = _labelOfClass.Max() + 1;
        ListingHash = listingHash;
    }

    public static NpzDataset Open(string path, string split, LabelMapping? mapping = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(split);
        mapping ??= LabelMapping.Identity;
        string full = Path.GetFullPath(path);
        NpyArray images, labels;
        try
        {
            using var zip = ZipFile.OpenRead(full);
            images = ReadEntry(zip, full, $"{split}_images");
            labels = ReadEntry(zip, full, $"{split}_labels");
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(full, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{full}: not a readable .npz (zip) archive: {e.Message}", e);
        }

        string what = $"{full}: {split}_images";
        if (images.Descr[1..] != "u1") throw new InvalidDataException($"{what} is {images.Descr}, not uint8.");
        int[] s = images.Shape;
        if (!(s.Length == 3 || (s.Length == 4 && s[3] is 1 or 3)))
            throw new InvalidDataException($"{what} has shape ({string.Join(", ", s)}); expected (N, H, W) or (N, H, W, 1|3).");
        int n = s[0];
        if (n == 0) throw new InvalidDataException($"{what} is empty.");
        if (labels.Count != n || labels.Shape.Length > 2 || (labels.Shape.Length == 2 && labels.Shape[1] != 1))
            throw new InvalidDataException($"{full}: {split}_labels has shape ({string.Join(", ", labels.Shape)}); expected ({n},) or ({n}, 1).");
        var classOf = new int[n];
        for (int i = 0; i < n; i++)
        {
            long l = labels.Int(i);
            classOf[i] = l is >= 0 and < 1000 ? (int)l : throw new InvalidDataException($"{full}: {split}_labels[{i}] = {l} is not a class index 0 .. 999.");
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"npz\n{mapping.Description}\n{string.Join(",", s)}\n"));
        hash.AppendData(images.Data);
        foreach (int c in classOf) hash.AppendData(BitConverter.GetBytes(c));
        return new NpzDataset(full, split, images.Data, s[1], s[2], s.Length == 4 ? s[3] : 1, classOf, mapping, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    public string Source { get; }

    public string Split { get; }

    public IReadOnlyList<string> Classes { get; }

    public LabelMapping Mapping { get; }

    public int LabelCount { get; }

    public int Count => _classOf.Length;

    public int Height { get; }

    public int Width { get; }

    /// <summary>1 (grey) or 3 (RGB).</summary>
    public int Channels { get; }

    public string ListingHash { get; }

    public int ClassIndex(int index) => _classOf[index];

    public int Label(int index) => _labelOfClass[_classOf[index]];

    public Image LoadImage(int index)
    {
        int size = Height * Width * Channels;
        var pixels = _pixels.AsSpan(index * size, size);
        return Channels == 1 ? Image.LoadPixelData<L8>(pixels, Width, Height) : Image.LoadPixelData<Rgb24>(pixels, Width, Height);
    }

    private static NpyArray ReadEntry(ZipArchive zip, string path, string name)
    {
        var entry = zip.GetEntry(name + ".npy")
            ?? throw new InvalidDataException($"{path}: no array '{name}' (it holds {string.Join(", ", zip.Entries.Select(e => Path.GetFileNameWithoutExtension(e.Name)))}).");
        using var stream = entry.Open();
        return NpyArray.Read(stream, $"{path}: {name}");
    }
}
