using System.Globalization;
using GrpcExplain.Cli.IO;
using GrpcExplain.Training.Gan;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace GrpcExplain.Cli.Train;

/// <summary>
/// RUN/training.png, redrawn at every snapshot and FID measurement: FID-ResNet18 against kimg with its
/// floor (top), and the losses averaged per log line with ADA's p (bottom), so that whoever watches a
/// run sees at a glance whether it still improves.
/// </summary>
internal static class TrainingCurves
{
    public const string FileName = "training.png";
    public const int Width = 800, PanelHeight = 360;

    public static void Write(string run)
    {
        byte[] png = Png(GanRunHistory.Read(run));
        AtomicFile.Write(Path.Combine(run, FileName), stream => stream.Write(png));
    }

    public static byte[] Png(GanRunHistory history)
    {
        // One kimg axis for both panels, from the start of the run to its last line or measurement.
        double kimg = Math.Max(history.Log.Count > 0 ? history.Log[^1].Kimg : 0, history.Fid.Count > 0 ? history.Fid[^1].Kimg : 0);
        using var top = Image.Load<Rgba32>(FidPlot(history.Fid, kimg));
        using var bottom = Image.Load<Rgba32>(LossPlot(history.Log, kimg));
        using var figure = new Image<Rgba32>(Width, 2 * PanelHeight, new Rgba32(255, 255, 255));
        figure.Mutate(c => c.DrawImage(top, new Point(0, 0), 1f).DrawImage(bottom, new Point(0, PanelHeight), 1f));
        using var stream = new MemoryStream();
        figure.SaveAsPng(stream);
        return stream.ToArray();
    }

    private static byte[] FidPlot(IReadOnlyList<GanFidEntry> fid, double lastKimg)
    {
        var plot = new ScottPlot.Plot();
        if (fid.Count > 0)
        {
            var line = plot.Add.Scatter(fid.Select(e => e.Kimg).ToArray(), fid.Select(e => e.Fid).ToArray());
            line.LegendText = $"G_ema, {fid[^1].GeneratedImages} images (last {Number(fid[^1].Fid)} at {Number(fid[^1].Kimg)} kimg)";
            line.LineWidth = 2;
            line.MarkerSize = 7;
            if (fid[^1].Floor is { } floor)
            {
                var floorLine = plot.Add.HorizontalLine(floor);
                floorLine.LinePattern = ScottPlot.LinePattern.Dashed;
                floorLine.Color = ScottPlot.Colors.Green;
                floorLine.LegendText = $"floor: validation reals vs train ({Number(floor)})";
            }
            plot.Axes.SetLimitsY(0, fid.Max(e => e.Fid) * 1.08);
            // FID falls from the upper left: the lower left stays clear of the curve.
            plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
        }
        else
        {
            plot.Add.Annotation("No FID-ResNet18 yet: --fid-kimg N measures it during training, --fid-images at the end.");
        }
        plot.Axes.SetLimitsX(0, Math.Max(lastKimg, 1e-3) * 1.02);
        plot.Title("FID-ResNet18 of G_ema against the train reals (lower is better)");
        plot.XLabel("kimg (thousands of real images shown)");
        plot.YLabel("FID-ResNet18");
        return plot.GetImageBytes(Width, PanelHeight, ScottPlot.ImageFormat.Png);
    }

    private static byte[] LossPlot(IReadOnlyList<GanLogEntry> log, double lastKimg)
    {
        var plot = new ScottPlot.Plot();
        if (log.Count > 0)
        {
            double[] kimg = [.. log.Select(e => e.Kimg)];
            var g = plot.Add.ScatterLine(kimg, log.Select(e => e.GeneratorLoss).ToArray());
            g.LegendText = "G loss (non-saturating)";
            var d = plot.Add.ScatterLine(kimg, log.Select(e => e.DiscriminatorLoss).ToArray());
            d.LegendText = "D loss (logistic, reals + fakes)";
            var p = plot.Add.ScatterLine(kimg, log.Select(e => e.AugmentP).ToArray());
            p.LegendText = "ADA p (right axis)";
            p.LinePattern = ScottPlot.LinePattern.Dashed;
            p.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "ADA p";
            plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        }
        plot.Axes.SetLimitsX(0, Math.Max(lastKimg, 1e-3) * 1.02);
        plot.Title("Losses (averaged per log line) and ADA's augmentation probability");
        plot.XLabel("kimg");
        plot.YLabel("loss");
        return plot.GetImageBytes(Width, PanelHeight, ScottPlot.ImageFormat.Png);
    }

    private static string Number(double v) => v.ToString(v >= 100 ? "F1" : "0.##", CultureInfo.InvariantCulture);
}
