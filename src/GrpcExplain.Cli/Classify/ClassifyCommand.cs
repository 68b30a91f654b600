using System.CommandLine;
using System.Text.Json;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Onnx;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrpcExplain.Cli.Classify;

/// <summary>
/// <c>grpcexplain classify --model-repository DIR --model NAME IMAGE...</c>: one JSON line per image,
/// <c>{"path": ..., "probabilities": [...]}</c> in class order, through the path the classifier service
/// takes (<see cref="ModelRepository"/>, <see cref="OnnxClassifier"/>), each file first brought to the
/// model's input as its classifier.json says (<see cref="InputImages"/>: fit, channels, [-1, 1]).
/// An image that cannot be read or fitted is named on stderr and the others are still classified and
/// printed (one bad file in a folder of hundreds should not cost the rest); the exit code is then 1, so
/// a script sees that a line is missing.
/// </summary>
internal sealed class ClassifyCommand
{
    /// <summary>Images decoded and classified together: enough for the model's batches, bounded in memory.</summary>
    private const int Chunk = 256;

    private readonly Option<string> _repository = new("--model-repository") { Description = "Model repository: MODEL/classifier.json and MODEL/VERSION/model.onnx (Triton's layout).", Required = true, HelpName = "DIR" };
    private readonly Option<string> _model = new("--model") { Description = "The model's folder name in the repository.", Required = true, HelpName = "NAME" };
    private readonly Option<string> _version = new("--model-version") { Description = "Version folder to use (default: the highest).", HelpName = "V" };
    private readonly Argument<string[]> _images = new("IMAGE") { Description = "PNG or JPEG files of any size, grey or colour.", Arity = ArgumentArity.OneOrMore };

    public static Command Create(TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var options = new ClassifyCommand();
        var command = new Command("classify", "Print the class probabilities of image files under a classifier of a model repository, one JSON line per image.")
        {
            options._repository, options._model, options._version, options._images,
        };
        command.SetAction(parsed => options.Execute(parsed, stdout, stderr, cancellation));
        return command;
    }

    private int Execute(ParseResult parsed, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        string root = parsed.GetValue(_repository)!, name = parsed.GetValue(_model)!;
        string[] images = parsed.GetValue(_images)!;
        using var classifier = Open(root, name, parsed.GetValue(_version), out var config);
        bool failed = false;
        for (int start = 0; start < images.Length; start += Chunk)
        {
            var paths = new List<string>();
            var pixels = new List<float[]>();
            foreach (string path in images.Skip(start).Take(Chunk))
            {
                cancellation.ThrowIfCancellationRequested();
                try
                {
                    pixels.Add(InputImages.Read(path, config));
                    paths.Add(path);
                }
                catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
                {
                    stderr.WriteLine($"grpcexplain: IMAGE {(e is FileNotFoundException or DirectoryNotFoundException ? $"'{path}': no such file" : e.Message)}");
                    failed = true;
                }
            }
            if (paths.Count == 0) continue;
            var input = config.Input;
            var batch = new ImageBatch([.. pixels.SelectMany(p => p)], paths.Count, input.Channels, input.Height, input.Width);
            var predictions = classifier.ClassifyAsync(batch, cancellation).GetAwaiter().GetResult();
            for (int i = 0; i < paths.Count; i++) stdout.WriteLine(Line(paths[i], predictions.Of(i)));
        }
        stdout.Flush();
        return failed ? ExitCodes.Failure : ExitCodes.Success;
    }

    /// <summary>The model and its config; a UsageException says what the repository holds instead.</summary>
    private static OnnxClassifier Open(string root, string name, string? version, out ClassifierConfig config)
    {
        if (!Directory.Exists(root)) throw new UsageException($"--model-repository '{root}': no such folder.");
        string folder = Path.Combine(root, name);
        if (!Directory.Exists(folder))
        {
            var models = Directory.EnumerateDirectories(root).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            throw new UsageException($"--model '{name}': no such model in '{root}' (it has {(models.Count == 0 ? "none" : string.Join(", ", models))}).");
        }
        OnnxClassifier classifier;
        try
        {
            // The service's own path: the repository loader (checking the config against the ONNX graph) and the ONNX Runtime classifier.
            classifier = OnnxClassifier.Open(root, name, version, new OnnxOptions(), NullLogger.Instance);
        }
        catch (ModelNotFoundException e)
        {
            throw new UsageException($"--model-version: {e.Message}");
        }
        config = ClassifierConfig.Load(Path.Combine(folder, ClassifierConfig.FileName));
        return classifier;
    }

    private static string Line(string path, ReadOnlySpan<float> probabilities)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("path", path);
            json.WriteStartArray("probabilities");
            foreach (float p in probabilities) json.WriteNumberValue(p);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
