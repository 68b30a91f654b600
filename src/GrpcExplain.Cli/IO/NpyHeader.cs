using System.Globalization;

namespace GrpcExplain.Cli.IO;

/// <summary>
/// The .npy header: the repr of a Python dict with exactly the keys 'descr', 'fortran_order' and
/// 'shape'. A small parser of that literal (strings, True/False, tuples of integers), not an evaluator.
/// </summary>
internal static class NpyHeader
{
    public static (string Descr, bool FortranOrder, int[] Shape) Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var p = new Reader(text, source);
        string? descr = null;
        bool? fortran = null;
        int[]? shape = null;
        p.Expect('{');
        while (!p.TryTake('}'))
        {
            string key = p.String();
            p.Expect(':');
            switch (key)
            {
                case "descr": descr = p.String(); break;
                case "fortran_order": fortran = p.Bool(); break;
                case "shape": shape = p.Shape(); break;
                default: throw p.Error($"unexpected key '{key}'");
            }
            if (!p.TryTake(',')) { p.Expect('}'); break; }
        }
        p.End();
        return (descr ?? throw p.Error("no 'descr'"), fortran ?? throw p.Error("no 'fortran_order'"), shape ?? throw p.Error("no 'shape'"));
    }

    /// <summary>A dtype string in words, for the error that refuses it.</summary>
    public static string Describe(string descr)
    {
        ArgumentNullException.ThrowIfNull(descr);
        if (descr.Length < 3) return "not a plain numeric type";
        string order = descr[0] switch { '<' => "little-endian ", '>' => "big-endian ", _ => "" };
        string kind = descr[1] switch { 'f' => "float", 'i' => "int", 'u' => "uint", 'b' => "bool", 'c' => "complex", _ => "" };
        return kind.Length > 0 && int.TryParse(descr[2..], NumberStyles.None, CultureInfo.InvariantCulture, out int bytes)
            ? $"{order}{kind}{(kind == "bool" ? "" : (bytes * 8).ToString(CultureInfo.InvariantCulture))}"
            : "not a plain numeric type";
    }

    private sealed class Reader(string text, string source)
    {
        private int _pos;

        public InvalidDataException Error(string what) =>
            new($"{source}: malformed .npy header ({what}): {text.TrimEnd()}");

        public void Expect(char c)
        {
            if (!TryTake(c)) throw Error($"expected '{c}' at position {_pos}");
        }

        public bool TryTake(char c)
        {
            SkipSpace();
            if (_pos < text.Length && text[_pos] == c) { _pos++; return true; }
            return false;
        }

        public string String()
        {
            SkipSpace();
            char quote = _pos < text.Length ? text[_pos] : '\0';
            if (quote is not ('\'' or '"')) throw Error($"expected a string at position {_pos}");
            int end = text.IndexOf(quote, _pos + 1);
            if (end < 0) throw Error("unterminated string");
            var s = text[(_pos + 1)..end];
            _pos = end + 1;
            return s;
        }

        public bool Bool()
        {
            SkipSpace();
            foreach (var (word, value) in new[] { ("True", true), ("False", false) })
                if (string.CompareOrdinal(text, _pos, word, 0, word.Length) == 0) { _pos += word.Length; return value; }
            throw Error($"expected True or False at position {_pos}");
        }

        public int[] Shape()
        {
            Expect('(');
            var dims = new List<int>();
            while (!TryTake(')'))
            {
                SkipSpace();
                int start = _pos;
                while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
                if (!int.TryParse(text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
                    throw Error($"expected a non-negative dimension at position {start}");
                dims.Add(d);
                if (!TryTake(',')) { Expect(')'); break; }
            }
            return [.. dims];
        }

        public void End()
        {
            SkipSpace();
            if (_pos != text.Length) throw Error($"unexpected text after the dict at position {_pos}");
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }
    }
}
