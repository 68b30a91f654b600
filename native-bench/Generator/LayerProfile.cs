using System.Diagnostics;
using GrpcExplain.Kernels;
using GrpcExplain.StyleGan;

namespace NativeBench.Generator;

/// <summary>
/// `generator --profile`: where one whole-generator call spends its time, layer by layer (the backend
/// synchronised after each), with each convolution's GFLOP/s; medians over the repeats.
/// </summary>
internal static class LayerProfile
{
    public static void Print(GrpcExplain.StyleGan.Generator g, float[] z, int n, NoiseMode noise, int repeat, TextWriter o)
    {
        var backend = g.Backend;
        var times = new Dictionary<string, List<double>>();
        var order = new List<string>();
        var sw = new Stopwatch();
        double last = 0;
        void Mark(string name)
        {
            backend.Synchronize();
            double t = sw.Elapsed.TotalMilliseconds;
            if (!times.TryGetValue(name, out var list))
            {
                times[name] = list = [];
                order.Add(name);
            }
            list.Add(t - last);
            last = sw.Elapsed.TotalMilliseconds;
        }
        g.SynthesisProfiler = Mark;
        try
        {
            for (int r = 0; r <= repeat; r++)
            {
                if (r == 1)
                {
                    times.Clear(); // the first call warms up
                    order.Clear();
                }
                sw.Restart();
                last = 0;
                var ws = g.Map(z, n);
                Mark("mapping");
                g.Synthesize(ws, n, noise);
                Mark("download");
                Mark("total");
                times["total"][^1] = last; // the whole call, not the time since the previous mark
            }
        }
        finally
        {
            g.SynthesisProfiler = null;
        }
        var flops = g.SynthesisLayers.ToDictionary(l => l.Name, l =>
        {
            int res = l.Up ? l.Resolution / 2 : l.Resolution;
            return (double)l.Conv.Cost(new Shape(n, l.InChannels, res, res), l.Weight.Shape).Forward.Flops;
        });
        o.WriteLine($"  per layer, batch {n}, median (min) of {repeat} calls:");
        o.WriteLine($"  {"layer",-28} {"ms",8} {"min",8} {"MFLOP",9} {"GFLOP/s",8}");
        foreach (var name in order)
        {
            var t = times[name];
            t.Sort();
            double med = t[t.Count / 2], min = t[0];
            string rate = flops.TryGetValue(name, out var f) ? $"{f / 1e6,9:F1} {f / min / 1e6,8:F1}" : "";
            o.WriteLine($"  {name,-28} {med,8:F3} {min,8:F3} {rate}");
        }
    }
}
