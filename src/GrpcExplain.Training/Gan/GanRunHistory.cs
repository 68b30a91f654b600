using System.Text.Json;

namespace GrpcExplain.Training.Gan;

/// <summary>
/// What RUN/log.jsonl and RUN/fid.jsonl hold, for curves of a run: the losses and ADA's p along the run,
/// and its FID-ResNet18 measurements (the last one at each step, as a repeated end-of-run measurement is
/// appended again). A line a killed process left half written is skipped.
/// </summary>
public sealed record GanRunHistory(IReadOnlyList<GanLogEntry> Log, IReadOnlyList<GanFidEntry> Fid)
{
    public static GanRunHistory Read(string run)
    {
        var log = Lines<GanLogEntry>(Path.Combine(run, GanTraining.LogFile));
        var fid = Lines<GanFidEntry>(Path.Combine(run, GanTraining.FidLogFile))
            .GroupBy(e => e.Step).Select(g => g.Last()).OrderBy(e => e.Step).ToList();
        return new GanRunHistory(log, fid);
    }

    private static List<T> Lines<T>(string path)
    {
        var entries = new List<T>();
        if (!File.Exists(path)) return entries;
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                if (JsonSerializer.Deserialize<T>(line, GanConfig.Json) is { } entry) entries.Add(entry);
            }
            catch (JsonException)
            {
                // Half written when the process died: the rest of the file is still read.
            }
        }
        return entries;
    }
}
