using System.Globalization;

namespace GrpcExplain.Cli.Synthesize;

/// <summary>
/// Seed lists as NVIDIA's generate.py takes them (<c>0-7,10,12-13</c>): comma-separated seeds and
/// inclusive ranges. NumPy's RandomState takes seeds from 0 to 2^32 − 1.
/// </summary>
internal static class SeedList
{
    /// <summary>More images than anyone means to write in one run; stops a typo such as 0-4000000000 early.</summary>
    public const int MaxSeeds = 1_000_000;

    public static IReadOnlyList<uint> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var seeds = new List<uint>();
        var seen = new HashSet<uint>();
        foreach (var raw in text.Split(','))
        {
            var item = raw.Trim();
            if (item.Length == 0) throw Bad(text, "an empty item (two commas, or a comma at an end)");
            int dash = item.IndexOf('-', 1);
            uint first = Seed(text, dash < 0 ? item : item[..dash]);
            uint last = dash < 0 ? first : Seed(text, item[(dash + 1)..]);
            if (last < first) throw Bad(text, $"the range {first}-{last} runs backwards");
            if ((ulong)seeds.Count + (last - first) + 1 > MaxSeeds) throw Bad(text, $"more than {MaxSeeds:N0} seeds");
            for (ulong s = first; s <= last; s++)
            {
                if (!seen.Add((uint)s)) throw Bad(text, $"seed {s} is listed twice");
                seeds.Add((uint)s);
            }
        }
        return seeds;
    }

    /// <summary>A compact form for the summary: 0-7,10.</summary>
    public static string Format(IReadOnlyList<uint> seeds)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        var parts = new List<string>();
        for (int i = 0; i < seeds.Count;)
        {
            int j = i;
            while (j + 1 < seeds.Count && seeds[j + 1] == seeds[j] + 1) j++;
            parts.Add(j == i ? $"{seeds[i]}" : $"{seeds[i]}-{seeds[j]}");
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    private static uint Seed(string text, string s) =>
        s.Length > 0 && s.All(char.IsAsciiDigit) && uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out uint v) ? v
            : throw Bad(text, $"'{s}' is not a seed (seeds are whole numbers from 0 to {uint.MaxValue})");

    private static UsageException Bad(string text, string why) =>
        new($"--seeds '{text}': {why}. Write seeds and ranges like 0-7,10,12-13.");
}
