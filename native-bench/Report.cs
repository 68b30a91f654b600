namespace NativeBench;

/// <summary>What native-bench prints: a line per row as it is measured, then the side-by-side table and the summary.</summary>
internal static class Report
{
    public const string Baseline = OpenBlasBaseline.Name;

    public static void PrintCaseHeader(TextWriter w, BenchCase c, string validatedShape)
    {
        w.WriteLine();
        w.WriteLine($"{c.Case.Op} {c.Case.ShapeName}   (validated at {validatedShape}; {Layers(c.Layers)})");
    }

    public static void PrintRow(TextWriter w, Row r, Row? baseline, double tolerance)
    {
        var head = $"  {r.Direction,-8}  {r.Backend,-14}";
        var err = r.MaxRelError is { } e ? $"err {e:0.0e+00}" : "";
        if (r.Status == Row.NotImplemented || r.Status == Row.Failed)
        {
            w.WriteLine($"{head}  {err,-12}  {(r.Status == Row.Failed ? "FAILED" : "not implemented")}: {r.Message}");
            return;
        }
        var flag = (r.Status == Row.Inaccurate ? $"  !! ERROR ABOVE {tolerance:0e+00} !!" : "")
            + (r.OthersBusy > Timer.NoisyShare ? $"  (disturbed: other processes took {r.OthersBusy * 100:F0}% of the cores)" : "");
        var vs = Ratio(r, baseline) is { } q && r.Backend != Baseline ? $"  {Pct(q)} of {Baseline}" : "";
        w.WriteLine($"{head}  {err,-12}  {r.Ms,10:0.0000} ms  {Num(r.Gflops!.Value),8} GFLOP/s  {Num(r.Gbps!.Value),7} GB/s{vs}{flag}");
    }

    /// <summary>op, direction, shape, then each backend's GFLOP/s with its ratio to OpenBLAS for the same op and shape.</summary>
    public static void PrintTable(TextWriter w, IReadOnlyList<Row> rows, IReadOnlyList<string> backends)
    {
        w.WriteLine();
        w.WriteLine($"GFLOP/s (and % of {Baseline} for the same op, direction and shape); n/i = not implemented, ! = error above tolerance");
        w.WriteLine($"{"op",-26} {"dir",-8} {"shape",-24} {string.Join(" ", backends.Select(b => $"{b,16}"))}");
        foreach (var g in rows.GroupBy(r => (r.Op, r.Direction, r.Shape)))
        {
            var blas = g.FirstOrDefault(r => r.Backend == Baseline);
            var cells = backends.Select(b => $"{Cell(g.FirstOrDefault(r => r.Backend == b), blas),16}");
            w.WriteLine($"{g.Key.Op,-26} {g.Key.Direction,-8} {g.Key.Shape,-24} {string.Join(" ", cells)}");
        }
    }

    /// <summary>Per op and direction, each backend's median GFLOP/s over the shapes and its median ratio to OpenBLAS.</summary>
    public static void PrintSummary(TextWriter w, IReadOnlyList<Row> rows, IReadOnlyList<string> backends)
    {
        w.WriteLine();
        w.WriteLine($"Median over shapes: GFLOP/s (median % of {Baseline} over the shapes it has), GB/s");
        w.WriteLine($"{"op",-26} {"dir",-8} {"shapes",6} {string.Join(" ", backends.Select(b => $"{b,24}"))}");
        foreach (var g in rows.GroupBy(r => (r.Op, r.Direction)))
        {
            var cells = backends.Select(b =>
            {
                var mine = g.Where(r => r.Backend == b && r.Timed).ToList();
                if (mine.Count == 0) return $"{(g.Any(r => r.Backend == b) ? "n/i" : ""),24}";
                var ratios = mine.Select(r => Ratio(r, g.FirstOrDefault(x => x.Backend == Baseline && x.Shape == r.Shape)))
                    .OfType<double>().ToList();
                var q = b != Baseline && ratios.Count > 0 ? $" {Pct(Median(ratios)),4}" : "";
                var gbps = Num(Median([.. mine.Select(r => r.Gbps!.Value)]));
                return $"{$"{Num(Median([.. mine.Select(r => r.Gflops!.Value)]))}{q} {gbps,6}",24}";
            });
            w.WriteLine($"{g.Key.Op,-26} {g.Key.Direction,-8} {g.Select(r => r.Shape).Distinct().Count(),6} {string.Join(" ", cells)}");
        }
    }

    /// <summary>The target: the CPU backend's modulated 3x3 forward at N1_I256_O256_H32_W32 reaches 70% of OpenBLAS.</summary>
    public static void PrintHeadline(TextWriter w, IReadOnlyList<Row> rows)
    {
        static Row? Find(IEnumerable<Row> rows, string backend) => rows.FirstOrDefault(r =>
            r.Op == "modulated_conv3x3" && r.Shape == "N1_I256_O256_H32_W32" && r.Direction == "forward" && r.Backend == backend);
        var blas = Find(rows, Baseline);
        foreach (var cpu in rows.Where(r => r.Backend.StartsWith("cpu", StringComparison.Ordinal)).Select(r => r.Backend).Distinct().Select(b => Find(rows, b)).OfType<Row>())
        {
            w.WriteLine();
            if (!cpu.Timed) w.WriteLine($"target: {cpu.Backend} modulated_conv3x3 forward N1_I256_O256_H32_W32 is {cpu.Status}.");
            else if (Ratio(cpu, blas) is not { } q) w.WriteLine($"target: {cpu.Backend} modulated_conv3x3 forward N1_I256_O256_H32_W32: {cpu.Gflops:F1} GFLOP/s (no {Baseline} row to compare)");
            else w.WriteLine($"target: {cpu.Backend} modulated_conv3x3 forward N1_I256_O256_H32_W32: {cpu.Gflops:F1} GFLOP/s = {Pct(q)} of {Baseline}'s {blas!.Gflops:F1} (target >= 70%: {(q >= 0.7 ? "met" : "NOT met")})");
        }
    }

    private static string Cell(Row? r, Row? baseline) => r switch
    {
        null => "",
        { Status: Row.NotImplemented } => "n/i",
        { Status: Row.Failed } => "failed",
        _ => $"{(r.Status == Row.Inaccurate ? "!" : "")}{Num(r.Gflops!.Value)}{(r.Backend != Baseline && Ratio(r, baseline) is { } q ? $" {Pct(q),4}" : "")}",
    };

    private static double? Ratio(Row r, Row? baseline) =>
        r.Gflops is { } mine && baseline?.Gflops is { } theirs && theirs > 0 ? mine / theirs : null;

    /// <summary>One decimal, or three significant digits below 1 (the ILGPU emulator runs at MFLOP/s).</summary>
    private static string Num(double v) => v >= 1 || v == 0 ? $"{v:F1}" : $"{v:G3}";

    private static string Pct(double q) => $"{q * 100:F0}%";

    private static double Median(List<double> v)
    {
        v.Sort();
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }

    private static string Layers(IReadOnlyList<string> layers) =>
        layers.Count <= 3 ? string.Join(", ", layers) : $"{string.Join(", ", layers.Take(3))} and {layers.Count - 3} more";
}
