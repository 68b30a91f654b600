using System.Globalization;
using GrpcExplain.Classifiers;
using GrpcExplain.Classifiers.Onnx;
using GrpcExplain.Cli.Explain;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;
using GrpcExplain.StyleGan.Weights;
using StyleGanGenerator = GrpcExplain.StyleGan.Generator;

namespace GrpcExplain.Cli.Demo;

/// <summary>
/// The synthetic placeholder pairing, made reproducibly until trained models exist: a StyleGAN2
/// generator with random weights initialised as stylegan2-ada-pytorch initialises a new network, and a
/// classifier built to depend on one known latent direction d, as the coordinator's tests build theirs:
/// a linear layer over the pixels weighted by G(w̄ + s d) − G(w̄ − s d), scaled and centred on the
/// generator's own samples so that the two classes ("away", "towards") split them about evenly (s is
/// the samples' spread along d). A walk along d therefore moves the classifier, which is what the
/// demo and the tests need; the images mean nothing.
/// </summary>
internal static class SyntheticPairing
{
    public const string ClassifierName = "synthetic_direction";
    public static readonly IReadOnlyList<string> Labels = ["away", "towards"];

    /// <summary>The bundled placeholder: 64x64 RGB with few channels (a 3 MB file), two mapping layers (stylegan2-ada's 'auto' config for small images).</summary>
    public static readonly GeneratorConfig Small64 = new(ZDim: 128, CDim: 0, WDim: 128, ImgResolution: 64, ImgChannels: 3, MappingLayers: 2, ChannelBase: 1024, ChannelMax: 128, ConvClamp: 256f);

    /// <summary>The 64x64 configuration the trained default will have (issue 3's speed target: channel_base 4096, channel_max 256, w_dim 256), for benchmarks.</summary>
    public static readonly GeneratorConfig Full64 = new(ZDim: 256, CDim: 0, WDim: 256, ImgResolution: 64, ImgChannels: 3, MappingLayers: 8, ChannelBase: 4096, ChannelMax: 256, ConvClamp: 256f);

    private const int Samples = 1024, Batch = 64;
    private static readonly double[] ExampleQuantiles = [0.25, 0.35, 0.45];

    /// <summary>Writes models/NAME's files into <paramref name="folder"/> (its last component is the pairing's name).</summary>
    public static void Write(string folder, GeneratorConfig config, int seed)
    {
        string name = Path.GetFileName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar));
        var random = new Random(seed);
        var tensors = InitialTensors(config, random);
        using var backend = Backends.Create(BackendKind.Cpu);
        using var generator = new StyleGanGenerator(backend, GeneratorWeights.FromTensors(config, tensors));
        int wDim = config.WDim, plane = config.ImgChannels * config.ImgResolution * config.ImgResolution;

        var ws = new float[Samples * wDim];
        var mapped = generator.Map(Gaussian(random, Samples * config.ZDim), Samples);
        for (int n = 0; n < Samples; n++) Array.Copy(mapped, n * config.NumWs * wDim, ws, n * wDim, wDim);
        var mean = new float[wDim];
        for (int n = 0; n < Samples; n++)
            for (int j = 0; j < wDim; j++) mean[j] += ws[n * wDim + j] / Samples;
        // Training tracks the average w; a new network's is zero. Store what training would have found, so truncation means something.
        tensors["mapping.w_avg"] = new HostTensor([wDim], mean);

        var d = Gaussian(random, wDim);
        float norm = MathF.Sqrt(d.Sum(v => v * v));
        for (int j = 0; j < wDim; j++) d[j] /= norm;
        double spread = Math.Sqrt(Enumerable.Range(0, Samples).Average(n => Math.Pow(Along(ws.AsSpan(n * wDim, wDim), mean, d), 2)));
        float[] At(double alpha) => [.. mean.Select((m, j) => (float)(m + alpha * spread * d[j]))];
        // Images as files hold them, clamped to [-1, 1], so the scores are those of the examples as read back.
        var plus = Clamped(generator.Synthesize(At(1), 1));
        var minus = Clamped(generator.Synthesize(At(-1), 1));
        var v = plus.Zip(minus, (a, b) => a - b).ToArray();

        var scores = new double[Samples];
        for (int start = 0; start < Samples; start += Batch)
        {
            var images = Clamped(generator.Synthesize(ws[(start * wDim)..((start + Batch) * wDim)], Batch));
            for (int i = 0; i < Batch; i++) scores[start + i] = Dot(v, images.AsSpan(i * plane, plane));
        }
        var sorted = scores.Order().ToArray();
        double median = sorted[Samples / 2], average = scores.Average(), sd = Math.Sqrt(scores.Average(s => (s - average) * (s - average)));
        double k = 5 / sd;
        // logit = k (v·x − median), for x = 2 x01 − 1 as the model reads x01 = (x + 1) / 2.
        var weight = v.Select(x => (float)(2 * k * x)).ToArray();
        float bias = (float)(-k * (v.Sum(x => (double)x) + median));

        Directory.CreateDirectory(folder);
        GeneratorWeights.FromTensors(config, tensors).Save(Path.Combine(folder, ModelPairing.GeneratorFile));
        string model = Path.Combine(folder, ModelPairing.ClassifiersFolder, ClassifierName);
        Directory.CreateDirectory(Path.Combine(model, "1"));
        File.WriteAllBytes(Path.Combine(model, "1", "model.onnx"), OnnxLinearModel.Write(weight, bias, config.ImgChannels, config.ImgResolution, "grpcexplain make-synthetic-pairing"));
        File.WriteAllText(Path.Combine(model, ClassifierConfig.FileName), $$"""
            { "input": { "name": "image", "datatype": "FP32", "layout": "NCHW", "channels": {{config.ImgChannels}}, "height": {{config.ImgResolution}}, "width": {{config.ImgResolution}} },
              "output": { "name": "logit", "activation": "sigmoid" },
              "class_labels": [ "{{Labels[0]}}", "{{Labels[1]}}" ],
              "max_batch_size": {{Batch}} }

            """);

        // Inputs for the demo: samples the classifier calls "away", from confidently to barely (the 25th, 35th and 45th percentiles of the score).
        string examples = Path.Combine(folder, ModelPairing.ExamplesFolder);
        Directory.CreateDirectory(examples);
        var ranked = Enumerable.Range(0, Samples).OrderBy(n => scores[n]).ToArray();
        foreach (double quantile in ExampleQuantiles)
        {
            int n = ranked[(int)(quantile * Samples)];
            var image = generator.Synthesize(ws[(n * wDim)..((n + 1) * wDim)], 1);
            File.WriteAllBytes(Path.Combine(examples, $"sample_{n:D4}.png"), ExplainImages.Png(image, config.ImgChannels, config.ImgResolution, config.ImgResolution));
        }
        File.WriteAllText(Path.Combine(folder, ModelPairing.CardFile), Card(name, config, seed, spread));
    }

    /// <summary>
    /// stylegan2-ada-pytorch's initialisation of a new generator: weights N(0, 1) (the mapping's divided
    /// by its learning-rate multiplier 0.01, as FullyConnectedLayer stores them), biases 0 except the
    /// affine layers' 1, noise strengths 0, the constant input and the noise buffers N(0, 1).
    /// </summary>
    private static Dictionary<string, HostTensor> InitialTensors(GeneratorConfig config, Random random)
    {
        var tensors = new Dictionary<string, HostTensor>();
        foreach (var (name, shape) in config.TensorShapes())
        {
            int count = checked((int)HostTensor.Count(shape));
            float[] data = name.EndsWith(".affine.bias", StringComparison.Ordinal) ? [.. Enumerable.Repeat(1f, count)]
                : name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith("noise_strength", StringComparison.Ordinal) || name == "mapping.w_avg" ? new float[count]
                : name.StartsWith("mapping.fc", StringComparison.Ordinal) ? [.. Gaussian(random, count).Select(x => x / 0.01f)]
                : Gaussian(random, count);
            tensors[name] = new HostTensor(shape, data);
        }
        return tensors;
    }

    private static float[] Clamped(float[] images) => Array.ConvertAll(images, x => Math.Clamp(x, -1f, 1f));

    private static float[] Gaussian(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return values;
    }

    private static double Along(ReadOnlySpan<float> w, float[] mean, float[] d)
    {
        double sum = 0;
        for (int j = 0; j < d.Length; j++) sum += (w[j] - mean[j]) * (double)d[j];
        return sum;
    }

    private static double Dot(float[] a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * (double)b[i];
        return sum;
    }

    private static string Card(string name, GeneratorConfig c, int seed, double spread)
    {
        string I(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        return $"""
            ---
            synthetic: true
            generator: StyleGAN2 (stylegan2-ada-pytorch parameters), {c.ImgResolution}x{c.ImgResolution}, {c.ImgChannels} channels, random weights
            classifiers: [{ClassifierName}]
            ---
            # {name}: a synthetic placeholder, not a trained model

            **Nothing here was trained, and nothing here has seen a medical image.** This pairing exists so
            that `grpcexplain explain` and `grpcexplain demo` run end to end before the trained defaults
            (`models/histology`, `models/radiology`) are bundled; the demo uses it only when no trained
            pairing is present, and says so.

            ## Generator (`{ModelPairing.GeneratorFile}`)

            StyleGAN2 with stylegan2-ada-pytorch's parameter names and 'skip' architecture: z_dim {c.ZDim},
            w_dim {c.WDim}, {c.MappingLayers} mapping layers, {c.ImgResolution}x{c.ImgResolution} RGB, channel_base
            {c.ChannelBase}, channel_max {c.ChannelMax} (few channels, to keep the file small), conv_clamp
            {I(c.ConvClamp ?? 0)}. Its weights are random, initialised as stylegan2-ada-pytorch initialises a
            new network (weights N(0, 1), the mapping's divided by its learning-rate multiplier 0.01; biases 0,
            affine biases 1; noise strengths 0), from seed {seed}; `mapping.w_avg` is the mean w of
            {Samples} mapped samples. Its images are abstract patterns.

            ## Classifier (`{ModelPairing.ClassifiersFolder}/{ClassifierName}`)

            A one-layer ONNX model (Flatten, Gemm; FP32 NCHW input in [0, 1]; one logit, sigmoid), built to
            depend on a known latent direction d (random, unit length): its weights are the image difference
            G(w̄ + s d) − G(w̄ − s d) (images clamped to [-1, 1], as files hold them), with w̄ the mean w and s = {I(spread)} the spread of the samples along d,
            scaled so that its logit has standard deviation 5 over {Samples} samples and centred on their
            median. Class 0 "{Labels[0]}", class 1 "{Labels[1]}": walking along +d moves an image towards
            "{Labels[1]}". A linear probe in W recovers a direction close to d.

            ## Examples (`{ModelPairing.ExamplesFolder}/`)

            Images the generator made from sampled latents that the classifier calls "{Labels[0]}" (the
            25th, 35th and 45th percentiles of its logit). The demo explains them.

            ## Made by

                dotnet run -c Release --project src/GrpcExplain.Cli -- make-synthetic-pairing --out models/{name} --seed {seed}

            (hidden command; the same seed gives the same generator file, and the classifier up to
            floating-point rounding of the CPU it was made on). Replace this folder with a trained pairing
            of the same layout: `{ModelPairing.GeneratorFile}`, `{ModelPairing.ClassifiersFolder}/MODEL/VERSION/model.onnx` with
            `{ModelPairing.ClassifiersFolder}/MODEL/{ClassifierConfig.FileName}`, and this card, without `synthetic: true`.

            """;
    }
}
