using NativeBench.Cases;

namespace NativeBench;

/// <summary>
/// `native-bench kernels`: for each op and shape, every variant is validated against the reference at a
/// reduced shape and then timed, and the OpenBLAS baseline of the same shape is timed right after; then
/// the side-by-side table, the medians per op and the headline target.
/// </summary>
internal static class KernelsCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        KernelsOptions o;
        try
        {
            o = KernelsOptions.Parse(args);
        }
        catch (OptionsException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(KernelsOptions.Usage);
            return 2;
        }
        if (o.Help)
        {
            Console.WriteLine(KernelsOptions.Usage);
            return 0;
        }

        var cases = StyleGan2Layers.Cases(o.Configs, o.Batches).Where(c => o.Ops is null || o.Ops.Contains(c.Case.Op)).ToList();
        if (o.List)
        {
            Console.WriteLine($"{"op",-26} {"shape",-24} {"fwd GFLOP",10} {"bwd GFLOP",10}  layers");
            foreach (var c in cases)
                Console.WriteLine($"{c.Case.Op,-26} {c.Case.ShapeName,-24} {c.Case.Flops(Direction.Forward) / 1e9,10:F4} {c.Case.Flops(Direction.Backward) / 1e9,10:F4}  {string.Join(", ", c.Layers)}");
            return 0;
        }

        var log = Console.Out;
        MachineInfo.Print(log);
        var quiet = new QuietMeter();
        log.WriteLine($"{cases.Count} shapes of {string.Join(", ", o.Configs.Select(c => c.Name))} at batch {string.Join(", ", o.Batches)}; " +
            $"median of {o.Timing.Repeat} samples of at least {o.Timing.MinTimeSeconds * 1e3:0.#} ms; tolerance {o.Tolerance:0e+00}");
        log.WriteLine("variants:");
        var variants = Variants.Create(o.Backends, o.IsaVariants, log);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var rows = new List<Row>();
        var blas = o.Baseline ? OpenBlasBaseline.Prepare(log) : null;
        if (blas is not null)
        {
            var (sgemm, others) = Timer.Quietly(() => OpenBlasBaseline.Run(blas, [OpenBlasBaseline.SgemmSpec], o.Timing, log, context: true), o.Timing);
            foreach (var r in sgemm)
            {
                rows.Add(BaselineRow(r, 2L * 256 * 1024 * 2304, 4L * (256 * 2304 + 2304 * 1024 + 256 * 1024), 1, [], [], o.Tolerance) with { OthersBusy = others });
                log.WriteLine($"openblas: sgemm 256x1024x2304 at {rows[^1].Gflops:F1} GFLOP/s on {Environment.ProcessorCount} threads");
            }
        }

        var validator = new Validator();
        foreach (var c in cases)
        {
            Report.PrintCaseHeader(log, c, c.Case.Reduced().ShapeName);
            var caseRows = new List<Row>();
            foreach (var v in variants) caseRows.AddRange(Measure(c, v, o, validator));
            if (blas is not null) caseRows.AddRange(BaselineRows(c, blas, o, log));
            foreach (var d in o.Directions)
            {
                var baseline = caseRows.FirstOrDefault(r => r.Backend == OpenBlasBaseline.Name && r.Direction == d.Name());
                foreach (var r in caseRows.Where(r => r.Direction == d.Name())) Report.PrintRow(log, r, baseline, o.Tolerance);
            }
            rows.AddRange(caseRows);
        }
        foreach (var v in variants) v.Backend.Dispose();

        var columns = variants.Select(v => v.Name).Append(OpenBlasBaseline.Name).Where(b => rows.Any(r => r.Backend == b)).ToList();
        Report.PrintTable(log, [.. rows.Where(r => r.Op != "sgemm")], columns);
        Report.PrintSummary(log, [.. rows.Where(r => r.Op != "sgemm")], columns);
        Report.PrintHeadline(log, rows);
        log.WriteLine($"during the run ({clock.Elapsed.TotalSeconds:F0} s, {validator.Elapsed.TotalSeconds:F0} s of it validating): {MachineInfo.Describe(quiet)}");
        var noisy = rows.Count(r => r.OthersBusy > Timer.NoisyShare);
        if (noisy > 0) log.WriteLine($"!! {noisy} rows were timed while other processes took more than {Timer.NoisyShare * 100:F0}% of the cores, after {o.Timing.Retries} retries (others_busy in the JSON).");
        if (o.JsonPath is not null)
        {
            Row.WriteJson(o.JsonPath, rows);
            log.WriteLine($"wrote {rows.Count} rows to {o.JsonPath}");
        }

        var inaccurate = rows.Where(r => r.Status == Row.Inaccurate).ToList();
        if (inaccurate.Count == 0) return 0;
        log.WriteLine();
        log.WriteLine($"!! {inaccurate.Count} rows have an error above {o.Tolerance:0e+00}:");
        foreach (var r in inaccurate) log.WriteLine($"!!   {r.Backend} {r.Op} {r.Direction} {r.Shape}: {r.MaxRelError:0.0e+00} at {r.ValidatedShape}");
        return 1;
    }

    /// <summary>Validates, then times, one variant on one case in each direction; a variant that throws becomes a row saying so.</summary>
    private static IEnumerable<Row> Measure(BenchCase c, Variant v, KernelsOptions o, Validator validator)
    {
        var results = new Dictionary<Direction, Row>();
        Row Make(Direction d, string status) => new()
        {
            Op = c.Case.Op, Shape = c.Case.ShapeName, Backend = v.Name, Direction = d.Name(), Batch = c.Case.Batch,
            Config = c.Configs, Layers = c.Layers, Flops = c.Case.Flops(d), Bytes = c.Case.Bytes(d), Status = status,
            ValidatedShape = c.Case.Reduced().ShapeName,
        };

        var errors = new Dictionary<Direction, double>();
        foreach (var d in o.Directions)
        {
            try
            {
                errors[d] = validator.MaxRelativeError(v, c.Case, d);
            }
            catch (Exception e) when (Failure(e) is { } row)
            {
                results[d] = Make(d, row.Status) with { Message = row.Message };
            }
        }

        var toTime = o.Directions.Where(errors.ContainsKey).ToList();
        if (toTime.Count > 0)
        {
            Bound? bound = null;
            try
            {
                bound = c.Case.Bind(v.Backend);
                bool forwardRan = false;
                foreach (var d in toTime)
                {
                    var status = errors[d] <= o.Tolerance ? Row.Ok : Row.Inaccurate; // a NaN error is inaccurate too
                    try
                    {
                        if (d == Direction.Backward && bound.BackwardNeedsForward && !forwardRan) bound.Call(Direction.Forward)();
                        var call = bound.Call(d);
                        var (t, others) = Timer.Quietly(() => Timer.Measure(call, v.Backend, o.Timing), o.Timing);
                        forwardRan |= d == Direction.Forward;
                        results[d] = Make(d, status) with
                        {
                            MaxRelError = errors[d], Ms = t.Ms, Samples = t.Samples, CallsPerSample = t.CallsPerSample,
                            Gflops = c.Case.Flops(d) / (t.Ms * 1e6), Gbps = c.Case.Bytes(d) / (t.Ms * 1e6), OthersBusy = others,
                        };
                    }
                    catch (Exception e) when (Failure(e) is { } row)
                    {
                        results[d] = Make(d, row.Status) with { MaxRelError = errors[d], Message = row.Message };
                    }
                }
            }
            catch (Exception e) when (Failure(e) is { } row)
            {
                foreach (var d in toTime) results.TryAdd(d, Make(d, row.Status) with { MaxRelError = errors[d], Message = row.Message });
            }
            finally
            {
                bound?.Dispose();
            }
        }
        return o.Directions.Select(d => results[d]);
    }

    /// <summary>The OpenBLAS rows of a case that has a plain-convolution equivalent, timed right beside ours so both see the same machine.</summary>
    private static List<Row> BaselineRows(BenchCase c, string blas, KernelsOptions o, TextWriter log)
    {
        if (c.Case.Baseline is not { } conv) return [];
        // As for ours, three samples do for long calls (from 7.5 GFLOP: 50 ms at 150 GFLOP/s).
        var timing = c.Case.Flops(Direction.Forward) >= 7.5e9 ? o.Timing with { Repeat = Math.Min(o.Timing.Repeat, 3) } : o.Timing;
        var (results, others) = Timer.Quietly(() => OpenBlasBaseline.Run(blas, o.Directions.Select(d => conv.Spec(c.Case.Op, d)), timing, log), o.Timing);
        return o.Directions
            .Select(d => (d, r: results.FirstOrDefault(r => r.Direction == d.Name())))
            .Where(x => x.r is not null)
            .Select(x => BaselineRow(x.r!, c.Case.Flops(x.d), c.Case.Bytes(x.d), c.Case.Batch, c.Configs, c.Layers, o.Tolerance) with
            {
                ValidatedShape = c.Case.Reduced().ShapeName, OthersBusy = others,
            })
            .ToList();
    }

    /// <summary>What a variant's exception says about it; null for exceptions that should end the run.</summary>
    private static (string Status, string Message)? Failure(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: > 0 } a => Failure(a.Flatten().InnerExceptions[0]), // from Parallel.For
        NotImplementedException => (Row.NotImplemented, e.Message),
        OutOfMemoryException or ArgumentException or InvalidOperationException or NotSupportedException or NullReferenceException
            or IndexOutOfRangeException or ArithmeticException => (Row.Failed, $"{e.GetType().Name}: {e.Message}"),
        _ when e.GetType().Namespace?.StartsWith("ILGPU", StringComparison.Ordinal) == true => (Row.Failed, $"{e.GetType().Name}: {e.Message}"),
        _ => null,
    };

    private static Row BaselineRow(OpenBlasBaseline.Result r, long flops, long bytes, int batch, IReadOnlyList<string> configs, IReadOnlyList<string> layers, double tolerance) => new()
    {
        Op = r.Op, Shape = r.Shape, Backend = OpenBlasBaseline.Name, Direction = r.Direction, Batch = batch, Config = configs,
        Layers = layers, Flops = flops, Bytes = bytes, Ms = r.Ms, Gflops = flops / (r.Ms * 1e6), Gbps = bytes / (r.Ms * 1e6),
        MaxRelError = r.MaxRelError, Status = r.MaxRelError is { } e && !(e <= tolerance) ? Row.Inaccurate : Row.Ok,
        Samples = r.Samples,
    };
}
