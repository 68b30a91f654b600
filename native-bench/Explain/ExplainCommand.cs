using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Net.Client;
using GrpcExplain.Cli.Demo;
using GrpcExplain.Cli.Explain;
using GrpcExplain.Explain;
using GrpcExplain.Kernels;
using GrpcExplain.Protos.V1;
using Microsoft.Data.Sqlite;
using DirectionMethod = GrpcExplain.Explain.DirectionMethod;

namespace NativeBench.Explain;

/// <summary>
/// `native-bench explain`: one whole explanation (predict, project, walk 16 frames, occlusion map,
/// summary) of a 64x64 pairing on one backend, as `grpcexplain explain` runs it in process and as the
/// three services run it over loopback (the same method behind gRPC: the ratio is the transport's
/// cost). Reported per projection step count: time to the original prediction, to the reconstruction,
/// to the first frame (from the request, and from the chosen direction), and in all. The direction
/// is fitted once before timing (it is stored per generator, classifier and class); the first
/// explanation, which also samples the projection's start (10,000 mapped latents), is reported apart.
/// The trained defaults (histology, radiology) explain real validation images from ../shared/data, fitted
/// as their generators' training data was, in turn; with and without their encoders (warm-started
/// projection against projection from the mean w).
/// </summary>
internal static class ExplainCommand
{
    private const string Usage = """
        usage: dotnet run -c Release --project native-bench -- explain [--model bundled,full] [--via in-process,services]
                   [--encoder with,without] [--projection-steps 25,50,100,200] [--frames 16] [--repeat 5] [--backend cpu] [--json OUT]

          --model LIST   bundled: models/synthetic-64 (the placeholder: 64x64 RGB, channel_base 1024, channel_max 128);
                         full: the same kind of pairing at the 64x64 size of the trained default (4096/256, w_dim 256,
                         8 mapping layers), made in a temporary folder;
                         histology, radiology: the trained defaults (64x64, 1024/64, w_dim 256, 2 mapping layers) on
                         real validation images of ../shared/data/pcam and knee-kl, taken in turn
          --encoder LIST with: projections start from the pairing's encoder (encoder.safetensors) when it has one
                         (pairings without one run 'without' only); without: from the mean w
          --via LIST     in-process: the Explain library over StyleGan and ONNX Runtime, as grpcexplain explain runs;
                         services: generator, classifier and coordinator hosts on loopback, Explain over gRPC
        """;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Milliseconds from the request to each event of one explanation, and its reconstruction's PSNR.</summary>
    private sealed record Times(double Original, double Reconstructed, double Direction, double FirstFrame, double Total, double Psnr, int Frames);

    public static int Run(IReadOnlyList<string> args)
    {
        List<string> models = ["bundled", "full"], vias = ["in-process", "services"], encoders = ["with", "without"];
        List<int> steps = [25, 50, 100, 200];
        int frames = 16, repeat = 5;
        string backendName = "cpu";
        string? json = null;
        try
        {
            for (int k = 0; k < args.Count; k++)
            {
                string Value() => k + 1 < args.Count ? args[++k] : throw new ArgumentException($"{args[k]} needs a value.");
                switch (args[k])
                {
                    case "--model": models = Words(Value(), "bundled", "full", "histology", "radiology"); break;
                    case "--encoder": encoders = Words(Value(), "with", "without"); break;
                    case "--via": vias = Words(Value(), "in-process", "services"); break;
                    case "--projection-steps": steps = [.. Value().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                    case "--frames": frames = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--repeat": repeat = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--backend": backendName = Value(); Backends.Parse(backendName); break;
                    case "--json": json = Value(); break;
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    default: throw new ArgumentException($"Unknown option '{args[k]}'.");
                }
            }
            if (frames < 2 || repeat < 1 || steps.Any(s => s < 1)) throw new ArgumentException("--frames must be at least 2, --repeat and every step count at least 1.");
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        MachineInfo.Print(Console.Out);
        var rows = new List<Dictionary<string, object>>();
        var scratch = Directory.CreateTempSubdirectory("native-bench-explain-").FullName;
        try
        {
            foreach (string model in models)
            {
                var pairing = Pairing(model, scratch);
                var inputs = Inputs(model, pairing);
                bool hasEncoder = File.Exists(Path.Combine(pairing.Folder, GrpcExplain.StyleGan.Encoding.EncoderWeights.FileName));
                Console.WriteLine($"{model}: {pairing.Folder}, classifier {pairing.Classifiers[0]}, inputs {string.Join(", ", inputs.Select(i => i.Name))}, {frames} frames, backend {backendName}" +
                    $"{(hasEncoder ? ", with an encoder" : ", no encoder")}");
                foreach (string encoder in encoders.Where(e => e == "without" || hasEncoder))
                    foreach (string via in vias)
                    {
                        bool useEncoder = encoder == "with";
                        var run = via == "in-process"
                            ? InProcess(pairing, inputs, backendName, Path.Combine(scratch, $"{model}-{encoder}-in-process.db"), frames, steps, repeat, useEncoder)
                            : ThroughServices(pairing, inputs, backendName, Path.Combine(scratch, $"{model}-{encoder}-services.db"), frames, steps, repeat, useEncoder);
                        foreach (var (n, times, others) in run)
                            rows.Add(Report(model, via, useEncoder && hasEncoder ? "encoder" : "w_avg", n, frames, times, others));
                    }
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(scratch, recursive: true);
        }
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(rows, Indented));
            Console.WriteLine($"wrote {rows.Count} rows to {json}");
        }
        return 0;
    }

    /// <summary>An input to explain: its name, its PNG bytes (what a client sends) and its pixels.</summary>
    private sealed record Input(string Name, byte[] Png, GrpcExplain.Classifiers.ImageBatch Image);

    /// <summary>
    /// The placeholders' bundled example; for a trained default, the first validation image of each class
    /// folder and the next ones in turn, up to four, fitted to 64x64 as its generator's training data was
    /// (PatchCamelyon: the central crop; knees: resized).
    /// </summary>
    private static List<Input> Inputs(string model, ModelPairing pairing)
    {
        var generator = GrpcExplain.StyleGan.Weights.GeneratorWeights.Load(pairing.GeneratorPath).Config;
        if (model is not ("histology" or "radiology"))
        {
            var image = ExplainImages.Read(pairing.Examples[0], generator.ImgChannels, generator.ImgResolution, GrpcExplain.Classifiers.ImageFit.Resize);
            return [new Input(Path.GetFileName(pairing.Examples[0]), File.ReadAllBytes(pairing.Examples[0]), image)];
        }
        var (data, fit) = model == "histology" ? ("pcam", GrpcExplain.Classifiers.ImageFit.CenterCrop) : ("knee-kl", GrpcExplain.Classifiers.ImageFit.Resize);
        string folder = Path.Combine(ModelCatalog.FindRoot(null), "..", "..", "shared", "data", data, "val");
        if (!Directory.Exists(folder)) throw new ArgumentException($"{model}: the validation images are read from {Path.GetFullPath(folder)}, which does not exist.");
        var classes = Directory.GetDirectories(folder).Order(StringComparer.Ordinal).Select(d => Directory.GetFiles(d).Order(StringComparer.Ordinal).ToArray()).ToArray();
        var files = Enumerable.Range(0, 4).Select(k => classes[k % classes.Length][k / classes.Length]).ToList();
        return [.. files.Select(f =>
        {
            using var image = SixLabors.ImageSharp.Image.Load(f);
            var pixels = GrpcExplain.Classifiers.InputImages.FromImage(image, generator.ImgChannels, generator.ImgResolution, generator.ImgResolution, fit);
            var batch = new GrpcExplain.Classifiers.ImageBatch(pixels, 1, generator.ImgChannels, generator.ImgResolution, generator.ImgResolution);
            return new Input(Path.GetFileName(f), ExplainImages.Png(batch), batch);
        })];
    }

    private static ModelPairing Pairing(string model, string scratch)
    {
        if (model is "histology" or "radiology") return ModelCatalog.Scan(ModelCatalog.FindRoot(null)).Single(p => p.Name == model);
        if (model == "bundled") return ModelCatalog.Scan(ModelCatalog.FindRoot(null)).Single(p => p.Name == "synthetic-64");
        string folder = Path.Combine(scratch, "full-64");
        var clock = Stopwatch.StartNew();
        SyntheticPairing.Write(folder, SyntheticPairing.Full64, seed: 64);
        Console.WriteLine($"  made the full-size 64x64 pairing in {clock.Elapsed.TotalSeconds:F1} s");
        return ModelCatalog.Scan(scratch).Single(p => p.Name == "full-64");
    }

    private static IEnumerable<(int Steps, List<Times> Times, double? Others)> InProcess(ModelPairing pairing, List<Input> inputs, string backend, string database,
        int frames, List<int> steps, int repeat, bool useEncoder)
    {
        var clock = Stopwatch.StartNew();
        using var explainer = InProcessExplainer.Open(pairing, pairing.Classifiers[0], Backends.Parse(backend), database, useEncoder);
        var image = inputs[0].Image;
        int target = 1, turn = 0;
        Console.WriteLine($"  in-process: loaded in {clock.ElapsedMilliseconds} ms ({explainer.Generator.BackendName})");
        clock.Restart();
        var walk = explainer.ChooseWalkAsync(target, DirectionMethod.LinearProbe, 1000, null, null, frames, null, CancellationToken.None).GetAwaiter().GetResult();
        Console.WriteLine($"  in-process: linear probe (1000 samples) fitted in {clock.ElapsedMilliseconds} ms, walk to alpha {walk.MaxAlpha:F2}");
        Parts(explainer, image, target, walk.Direction!.Vector);
        Times Once(int n) => Measure(explainer.ExplainAsync(inputs[turn++ % inputs.Count].Image, target, DirectionMethod.LinearProbe, walk, n, false, 1000, CancellationToken.None));
        var cold = Once(steps[0]);
        Console.WriteLine($"  in-process: first explanation {cold.Total:F0} ms (includes sampling the projection's start once)");
        foreach (int n in steps) yield return Repeat(() => Once(n), n, repeat);
    }

    /// <summary>
    /// What one projection step and one frame are made of, each timed alone (median of 9): a synthesis,
    /// a synthesis with its backward pass (the latent gradient a step takes), a classification, and the
    /// occlusion map (one batch of occluded copies). A step adds the loss (MSE and MS-SSIM with gradients) and Adam.
    /// </summary>
    private static void Parts(InProcessExplainer explainer, GrpcExplain.Classifiers.ImageBatch image, int target, float[] direction)
    {
        var g = explainer.Generator;
        var info = g.Info;
        var w = new GrpcExplain.Explain.Generation.Latents([.. direction.Select(v => 0.1f * v)], 1, info.WDim);
        var gradient = new float[info.ImageLength];
        Array.Fill(gradient, 1e-3f);
        double Ms(Func<Task> call) => Generator.GeneratorCommand.TimeCalls(() => call().GetAwaiter().GetResult(), 9).Median;
        double synthesis = Ms(() => g.SynthesizeAsync(w, CancellationToken.None));
        double backward = Ms(() => g.LatentGradientAsync(w, gradient, CancellationToken.None));
        double classify = Ms(() => explainer.Classifier.ClassifyAsync(image, CancellationToken.None));
        double occlusion = Ms(() => GrpcExplain.Explain.HeatMaps.OcclusionSensitivity.ComputeAsync(explainer.Classifier, image, target));
        Console.WriteLine($"  in-process parts: synthesis {synthesis:F1} ms, synthesis + backward {backward:F1} ms, classification {classify:F2} ms, occlusion map {occlusion:F1} ms");
    }

    private static List<(int Steps, List<Times> Times, double? Others)> ThroughServices(ModelPairing pairing, List<Input> inputs, string backend, string database,
        int frames, List<int> steps, int repeat, bool useEncoder)
    {
        var clock = Stopwatch.StartNew();
        var services = LoopbackServices.StartAsync(pairing, database, 1000, backend, TextWriter.Null, Console.Error, CancellationToken.None, useEncoder).GetAwaiter().GetResult();
        try
        {
            Console.WriteLine($"  services: started and SERVING in {clock.ElapsedMilliseconds} ms");
            using var channel = GrpcChannel.ForAddress(services.Coordinator, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });
            var client = new ExplainerService.ExplainerServiceClient(channel);
            int turn = 0;
            clock.Restart();
            float[] direction = [];
            using (var fit = client.FitDirection(new FitDirectionRequest { ClassifierModel = new ClassifierModel { Name = pairing.Classifiers[0] }, TargetClass = 1 }))
                while (fit.ResponseStream.MoveNext(CancellationToken.None).GetAwaiter().GetResult())
                    if (fit.ResponseStream.Current.EventCase == FitDirectionResponse.EventOneofCase.Result)
                        direction = MemoryMarshal.Cast<byte, float>(fit.ResponseStream.Current.Result.Direction.Data.Span).ToArray();
            Console.WriteLine($"  services: linear probe (1000 samples) fitted in {clock.ElapsedMilliseconds} ms");
            // The in-process run's walk: alpha 0 to 4 spreads of the generator's latents along the direction.
            float reach;
            using (var generator = InProcessGenerator.Load(pairing.GeneratorPath, Backends.Parse(backend)))
            {
                var (z, c) = LatentSpread.SampleZ(generator.Info.ZDim, generator.Info.CDim);
                reach = ExplainSettings.SpreadsWalked * LatentSpread.Of(generator.MapAsync(z, c, LatentSpread.Samples, 1f, CancellationToken.None).GetAwaiter().GetResult(), direction);
            }
            Times Once(int n) => Measure(Stream(client, new ExplainRequest
            {
                Image = new Image { Encoded = new EncodedImage { Format = ImageFormat.Png, Data = ByteString.CopyFrom(inputs[turn++ % inputs.Count].Png) } },
                ClassifierModel = new ClassifierModel { Name = pairing.Classifiers[0] },
                TargetClass = 1,
                NumFrames = frames,
                AlphaRange = new AlphaRange { AlphaStart = 0, AlphaEnd = reach },
                Encoding = new EncodingOptions { LatentSpace = LatentSpace.W, NumSteps = n },
            }));
            var cold = Once(steps[0]);
            Console.WriteLine($"  services: first explanation {cold.Total:F0} ms (includes sampling the projection's start once)");
            var results = steps.Select(n => Repeat(() => Once(n), n, repeat)).ToList();
            services.StopAsync().GetAwaiter().GetResult();
            return results;
        }
        finally
        {
            services.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>The coordinator's messages as the method's events, for <see cref="Measure"/>.</summary>
    private static async IAsyncEnumerable<object> Stream(ExplainerService.ExplainerServiceClient client, ExplainRequest request)
    {
        using var call = client.Explain(request);
        while (await call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false)) yield return call.ResponseStream.Current;
    }

    /// <summary>Runs one explanation to its end, noting when each kind of event arrived.</summary>
    private static Times Measure<T>(IAsyncEnumerable<T> events)
    {
        var clock = Stopwatch.StartNew();
        double original = 0, reconstructed = 0, direction = 0, first = 0, psnr = 0;
        int frames = 0;
        var enumerator = events.GetAsyncEnumerator();
        try
        {
            while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                double now = clock.Elapsed.TotalMilliseconds;
                switch ((object)enumerator.Current!)
                {
                    case OriginalPredicted:
                    case ExplainResponse { EventCase: ExplainResponse.EventOneofCase.OriginalPrediction }:
                        original = now;
                        break;
                    case Reconstructed r:
                        (reconstructed, psnr) = (now, 10 * Math.Log10(4 / r.Projection.MeanSquaredError));
                        break;
                    case ExplainResponse { EventCase: ExplainResponse.EventOneofCase.Reconstruction } r:
                        (reconstructed, psnr) = (now, 10 * Math.Log10(4 / r.Reconstruction.MeanSquaredError));
                        break;
                    case DirectionChosen:
                    case ExplainResponse { EventCase: ExplainResponse.EventOneofCase.Direction }:
                        direction = now;
                        break;
                    case FrameMade:
                    case ExplainResponse { EventCase: ExplainResponse.EventOneofCase.Frame }:
                        if (frames++ == 0) first = now;
                        break;
                }
            }
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return new Times(original, reconstructed, direction, first, clock.Elapsed.TotalMilliseconds, psnr, frames);
    }

    /// <summary>Repeats an explanation, and again while other processes were busy (as the kernel benchmarks do); the least disturbed set.</summary>
    private static (int, List<Times>, double?) Repeat(Func<Times> once, int steps, int repeat)
    {
        var (times, others) = Timer.Quietly(() => Enumerable.Range(0, repeat).Select(_ => once()).ToList(), new TimingOptions(repeat, 0, Retries: 1));
        return (steps, times, others);
    }

    private static Dictionary<string, object> Report(string model, string via, string start, int steps, int frames, List<Times> times, double? others)
    {
        double Median(Func<Times, double> f) => times.Select(f).Order().ElementAt(times.Count / 2);
        double total = Median(t => t.Total), first = Median(t => t.FirstFrame), fromDirection = Median(t => t.FirstFrame - t.Direction);
        double projection = Median(t => t.Reconstructed - t.Original), perFrame = Median(t => (t.Total - t.Direction) / Math.Max(1, t.Frames));
        string busy = others is { } o ? $"{o * 100:F0}%" : "n/a";
        Console.WriteLine($"  {via,-10} {start,-7} {steps,4} steps: first frame {first,7:F0} ms ({fromDirection,5:F1} ms after the direction), total {total,7:F0} ms " +
            $"(min {times.Min(t => t.Total):F0}); projection {projection / steps,5:F1} ms/step, walk {perFrame,5:F1} ms/frame, PSNR {Median(t => t.Psnr):F1} dB (mean {times.Average(t => t.Psnr):F1})   (others {busy} busy)");
        return new Dictionary<string, object>
        {
            ["model"] = model, ["via"] = via, ["start"] = start, ["projection_steps"] = steps, ["frames"] = frames, ["repeat"] = times.Count,
            ["original_ms"] = Math.Round(Median(t => t.Original), 2), ["reconstruction_ms"] = Math.Round(Median(t => t.Reconstructed), 2),
            ["first_frame_ms"] = Math.Round(first, 2), ["first_frame_after_direction_ms"] = Math.Round(fromDirection, 2),
            ["total_ms"] = Math.Round(total, 2), ["total_min_ms"] = Math.Round(times.Min(t => t.Total), 2),
            ["projection_ms_per_step"] = Math.Round(projection / steps, 3), ["walk_ms_per_frame"] = Math.Round(perFrame, 3),
            ["psnr_db"] = Math.Round(Median(t => t.Psnr), 2), ["psnr_mean_db"] = Math.Round(times.Average(t => t.Psnr), 2), ["others_busy"] = others is { } x ? Math.Round(x, 3) : -1,
        };
    }

    private static List<string> Words(string value, params string[] allowed)
    {
        var words = value.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        return words.All(allowed.Contains) ? words : throw new ArgumentException($"'{value}': choose from {string.Join(", ", allowed)}.");
    }
}
