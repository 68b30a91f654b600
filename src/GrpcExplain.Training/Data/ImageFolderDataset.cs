using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SixLabors.ImageSharp;

namespace GrpcExplain.Training.Data;

/// <summary>
/// A folder of images in the <c>ROOT/SPLIT/CLASS/file.png|jpg</c> convention, as torchvision's ImageFolder
/// reads it: classes are the split's sub-folders sorted by name (ordinal), files are listed class by class,
/// each class's files sorted by name; other files are passed over. Images are decoded with ImageSharp.
/// </summary>
public sealed class ImageFolderDataset : IImageDataset
{
    /// <summary>The file endings read, case-insensitively.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg"];

    private readonly string[] _files;
    private readonly int[] _classOf;
    private readonly int[] _labelOfClass;

    private ImageFolderDataset(string source, string split, string[] classes, string[] files, int[] classOf, LabelMapping mapping, string listingHash)
    {
        Source = source;
        Split = split;
        Classes = classes;
        _files = files;
        _classOf = classOf;
        Mapping = mapping;
        _labelOfClass = mapping.Map(classes);
        LabelCount = _labelOfClass.Length == 0 ? 0 : _labelOfClass.Max() + 1;
        ListingHash = listingHash;
    }

    /// <summary>Lists <c>root/split</c>; DirectoryNotFoundException or InvalidDataException say what is missing.</summary>
    public static ImageFolderDataset Open(string root, string split, LabelMapping? mapping = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentException.ThrowIfNullOrEmpty(split);
        mapping ??= LabelMapping.Identity;
        string folder = Path.GetFullPath(Path.Combine(root, split));
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{folder}: no such folder (expected ROOT/SPLIT/CLASS/file.png|jpg).");
        }
        string[] classes = [.. Directory.GetDirectories(folder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
        if (classes.Length == 0)
        {
            throw new InvalidDataException($"{folder}: no class folders (expected ROOT/SPLIT/CLASS/file.png|jpg).");
        }
        var files = new List<string>();
        var classOf = new List<int>();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"image-folder\n{mapping.Description}\n"));
        for (int c = 0; c < classes.Length; c++)
        {
            var inClass = new DirectoryInfo(Path.Combine(folder, classes[c])).EnumerateFiles()
                .Where(f => Extensions.Contains(f.Extension, StringComparer.OrdinalIgnoreCase))
                .OrderBy(f => f.Name, StringComparer.Ordinal);
            foreach (var f in inClass)
            {
                files.Add(f.FullName);
                classOf.Add(c);
                string line = string.Create(CultureInfo.InvariantCulture, $"{classes[c]}/{f.Name}\t{f.Length}\t{f.LastWriteTimeUtc.Ticks}\n");
                hash.AppendData(Encoding.UTF8.GetBytes(line));
            }
        }
        if (files.Count == 0)
        {
            throw new InvalidDataException($"{folder}: the class folders hold no {string.Join("/", Extensions)} files.");
        }
        return new ImageFolderDataset(folder, split, classes, [.. files], [.. classOf], mapping, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    public string Source { get; }

    public string Split { get; }

    public IReadOnlyList<string> Classes { get; }

    public LabelMapping Mapping { get; }

    public int LabelCount { get; }

    public int Count => _files.Length;

    public string ListingHash { get; }

    /// <summary>The full path of image <paramref name="index"/>.</summary>
    public string FilePath(int index) => _files[index];

    /// <summary>The class (folder) index of image <paramref name="index"/>, before the label mapping.</summary>
    public int ClassIndex(int index) => _classOf[index];

    public int Label(int index) => _labelOfClass[_classOf[index]];

    /// <summary>How many images each class folder holds, by class index.</summary>
    public int[] CountPerClass()
    {
        var counts = new int[Classes.Count];
        foreach (int c in _classOf) counts[c]++;
        return counts;
    }

    public Image LoadImage(int index)
    {
        string path = _files[index];
        try
        {
            return Image.Load(path);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: not a readable image: {e.Message}", e);
        }
    }
}
