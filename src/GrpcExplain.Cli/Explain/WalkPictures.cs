using System.Globalization;
using GrpcExplain.Classifiers;
using GrpcExplain.Explain.HeatMaps;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;

namespace GrpcExplain.Cli.Explain;

/// <summary>One frame as the pictures show it: the image, its alpha, the target probability, and the class it is predicted as.</summary>
internal sealed record FrameCard(byte[] Png, float Alpha, float TargetProbability, bool IsTarget, string PredictedLabel);

/// <summary>
/// The walk for people. Text is drawn with SkiaSharp, the renderer ScottPlot already brings (ImageSharp
/// 2.x draws no text without ImageSharp.Drawing, which is not to be had here): each frame becomes a card,
/// enlarged with nearest-neighbour sampling so pixels stay pixels, captioned with its alpha and target
/// probability and a bar of that probability, green once the classifier predicts the target. The strip
/// lays the cards out in rows, the GIF plays them (encoded by ImageSharp), and ScottPlot draws the
/// target probability against alpha.
/// </summary>
internal static class WalkPictures
{
    private const int CardImage = 128, Caption = 40, Gap = 6, PerRow = 8, Title = 26;
    private static readonly SKColor Ink = new(0x20, 0x20, 0x20), Reached = new(0x1b, 0x8a, 0x3a), BarBack = new(0xdd, 0xdd, 0xdd), Bar = new(0x2c, 0x6f, 0xbb);

    public static byte[] Strip(IReadOnlyList<FrameCard> frames, string title)
    {
        int columns = Math.Min(PerRow, frames.Count), rows = (frames.Count + PerRow - 1) / PerRow;
        int cardWidth = CardImage, cardHeight = CardImage + Caption;
        int width = Gap + columns * (cardWidth + Gap), height = Title + rows * (cardHeight + Gap);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var titleFont = Font(14);
        using var ink = Paint(Ink);
        canvas.DrawText(title, Gap, Title - 8, titleFont, ink);
        for (int i = 0; i < frames.Count; i++)
            DrawCard(canvas, frames[i], Gap + i % PerRow * (cardWidth + Gap), Title + i / PerRow * (cardHeight + Gap));
        return Encode(surface);
    }

    /// <summary>The cards as an endless animated GIF, the last one held a while.</summary>
    public static byte[] Gif(IReadOnlyList<FrameCard> frames)
    {
        const int Width = CardImage + 2 * Gap, Height = CardImage + Caption + 2 * Gap;
        using var gif = new Image<Rgba32>(Width, Height);
        gif.Metadata.GetGifMetadata().RepeatCount = 0;
        using var card = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(card);
        for (int i = 0; i < frames.Count; i++)
        {
            canvas.Clear(SKColors.White);
            DrawCard(canvas, frames[i], Gap, Gap);
            canvas.Flush();
            using var frame = SixLabors.ImageSharp.Image.LoadPixelData<Rgba32>(card.GetPixelSpan(), Width, Height);
            var added = gif.Frames.AddFrame(frame.Frames.RootFrame);
            // Hundredths of a second.
            added.Metadata.GetGifMetadata().FrameDelay = i == frames.Count - 1 ? 150 : 35;
        }
        gif.Frames.RemoveFrame(0);
        using var stream = new MemoryStream();
        gif.Save(stream, new GifEncoder { ColorTableMode = GifColorTableMode.Local });
        return stream.ToArray();
    }

    public static byte[] ProbabilityPlot(IReadOnlyList<FrameEntry> frames, string targetName, float? flipAlpha, float? stopAt)
    {
        var plot = new ScottPlot.Plot();
        var line = plot.Add.Scatter(frames.Select(f => (double)f.Alpha).ToArray(), frames.Select(f => (double)f.TargetProbability).ToArray());
        line.LegendText = $"p({targetName})";
        line.LineWidth = 2;
        line.MarkerSize = 6;
        var half = plot.Add.HorizontalLine(0.5);
        half.LinePattern = ScottPlot.LinePattern.Dotted;
        half.Color = ScottPlot.Colors.Gray;
        half.LegendText = "0.5";
        if (stopAt is { } p)
        {
            var stop = plot.Add.HorizontalLine(p);
            stop.LinePattern = ScottPlot.LinePattern.Dashed;
            stop.Color = ScottPlot.Colors.Green;
            stop.LegendText = $"stop at {p.ToString("0.##", CultureInfo.InvariantCulture)}";
        }
        if (flipAlpha is { } flip)
        {
            var flipLine = plot.Add.VerticalLine(flip);
            flipLine.LinePattern = ScottPlot.LinePattern.Dashed;
            flipLine.Color = ScottPlot.Colors.Red;
            flipLine.LegendText = $"prediction flips at α = {flip.ToString("0.##", CultureInfo.InvariantCulture)}";
        }
        plot.Axes.SetLimitsY(-0.02, 1.02);
        plot.Title($"Probability of '{targetName}' along the walk");
        plot.XLabel("α (distance along the unit direction in W)");
        plot.YLabel($"p({targetName})");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        return plot.GetImageBytes(640, 420, ScottPlot.ImageFormat.Png);
    }

    /// <summary>
    /// The heat map for people: the overlay (the image in grey, red where relevance is high) enlarged with
    /// nearest-neighbour sampling, under a title that says what the map shows, above the overlay's colour
    /// scale from no relevance to the most.
    /// </summary>
    public static byte[] HeatMapFigure(byte[] overlayPng, string title, string subtitle)
    {
        const int Side = 3 * CardImage, Header = 44, Ramp = 12;
        int width = 2 * Gap + Side, height = Header + Side + Gap + Ramp + 16;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var ink = Paint(Ink);
        using (var titleFont = Font(13)) canvas.DrawText(title, Gap, 18, titleFont, ink);
        using var font = Font(11);
        canvas.DrawText(subtitle, Gap, 36, font, ink);
        DrawPng(canvas, overlayPng, new SKRect(Gap, Header, Gap + Side, Header + Side));
        // The scale is the overlay itself over mid-grey, relevance 0 to 1 from left to right.
        var relevance = Enumerable.Range(0, Side).Select(x => x / (Side - 1f)).ToArray();
        var ramp = HeatMapOverlay.Render(new ImageBatch(new float[Side], 1, 1, 1, Side), new HeatMap(HeatMapMethod.Occlusion, relevance, 1, Side));
        float top = Header + Side + Gap;
        DrawPng(canvas, ExplainImages.Png(ramp, 3, 1, Side), new SKRect(Gap, top, Gap + Side, top + Ramp));
        canvas.DrawText("relevance 0", Gap, top + Ramp + 12, font, ink);
        canvas.DrawText("1", Gap + Side - font.MeasureText("1"), top + Ramp + 12, font, ink);
        return Encode(surface);
    }

    /// <summary>A PNG scaled into <paramref name="rect"/> with nearest-neighbour sampling, so pixels stay pixels.</summary>
    private static void DrawPng(SKCanvas canvas, byte[] png, SKRect rect)
    {
        using var bitmap = SKBitmap.Decode(png);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, rect, new SKSamplingOptions(SKFilterMode.Nearest));
    }

    private static void DrawCard(SKCanvas canvas, FrameCard frame, float left, float top)
    {
        DrawPng(canvas, frame.Png, new SKRect(left, top, left + CardImage, top + CardImage));
        using var font = Font(11);
        using var ink = Paint(frame.IsTarget ? Reached : Ink);
        string alpha = frame.Alpha.ToString("0.00", CultureInfo.InvariantCulture), p = frame.TargetProbability.ToString("0.000", CultureInfo.InvariantCulture);
        canvas.DrawText($"α {alpha}  p {p}", left + 1, top + CardImage + 13, font, ink);
        string label = frame.PredictedLabel.Length > 18 ? frame.PredictedLabel[..17] + "…" : frame.PredictedLabel;
        canvas.DrawText($"→ {label}", left + 1, top + CardImage + 26, font, ink);
        using var back = Paint(BarBack);
        using var bar = Paint(frame.IsTarget ? Reached : Bar);
        canvas.DrawRect(left, top + CardImage + 31, CardImage, 5, back);
        canvas.DrawRect(left, top + CardImage + 31, CardImage * Math.Clamp(frame.TargetProbability, 0f, 1f), 5, bar);
    }

    private static SKFont Font(float size) => new(SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default, size) { Subpixel = true };

    private static SKPaint Paint(SKColor color) => new() { Color = color, IsAntialias = true };

    private static byte[] Encode(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
