using System.Collections;
using Relay.Contracts.Configuration;

namespace Relay.Testing.Options;

/// <summary>
/// Checks a markdown options table (<c>| key | default | meaning |</c>, keys relative to the section) against a
/// <see cref="SettingsSchema"/>: every key listed once, no stale row, every default as the class has it. A default is
/// a value as configuration would take it in backticks, — for unset or empty, or a description in parentheses
/// (not compared).
/// </summary>
public static partial class OptionsTable
{
    /// <summary>What is wrong with the table in <paramref name="markdownPath"/> (relative to the checkout root); empty when nothing is.</summary>
    /// <param name="schema">The options the table lists.</param>
    /// <param name="markdownPath">The markdown file, relative to the checkout root.</param>
    /// <param name="skipPrefix">Keys under this prefix are listed elsewhere (e.g. "WireGuard:").</param>
    /// <param name="keyColumn">The first column's title: the table is the first whose header starts <c>| keyColumn | default |</c>.</param>
    public static IReadOnlyList<string> Problems(SettingsSchema schema, string markdownPath, string? skipPrefix = null, string keyColumn = "key")
    {
        var rows = Cells(File.ReadAllLines(Path.Combine(Repo.Root, markdownPath)), 2, keyColumn);
        var problems = new List<string>();
        if (rows.Count == 0)
        {
            problems.Add($"{markdownPath}: no '| {keyColumn} | default | meaning |' table");
        }

        var settings = schema.Settings
            .Where(s => skipPrefix is null || !s.Key.StartsWith($"{schema.Section}:{skipPrefix}", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(s => s.Key[(schema.Section.Length + 1)..], StringComparer.Ordinal);
        foreach (var group in rows.GroupBy(r => r.Key, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"{group.Key}: listed {group.Count()} times");
        }

        foreach (var (key, cell) in rows)
        {
            if (!settings.TryGetValue(key, out var setting))
            {
                problems.Add($"{key}: listed, but no option reads it");
            }
            else if (Mismatch(setting, cell) is { } problem)
            {
                problems.Add($"{key}: {problem}");
            }
        }

        problems.AddRange(settings.Keys.Where(k => !rows.Any(r => r.Key == k)).Select(k => $"{k}: not listed"));
        return problems;
    }

    /// <summary>
    /// The ranges the table's meaning cells state, "1–64", "128 B – 1 MiB", "500 ms – 5 min", "0 – 30 days" (a bound
    /// without a unit takes the other's), each as configuration text for its property: the lowest and highest values
    /// documented as valid, and the nearest values outside (one less, one more; a millisecond for a time span).
    /// </summary>
    public static IReadOnlyList<DocumentedRange> Ranges(SettingsSchema schema, string markdownPath, string keyColumn = "key")
    {
        var settings = schema.Settings.ToDictionary(s => s.Key[(schema.Section.Length + 1)..], StringComparer.Ordinal);
        var ranges = new List<DocumentedRange>();
        foreach (var (key, meaning) in Cells(File.ReadAllLines(Path.Combine(Repo.Root, markdownPath)), 3, keyColumn))
        {
            if (!settings.TryGetValue(key, out var setting))
            {
                continue;
            }

            foreach (System.Text.RegularExpressions.Match m in RangeRegex().Matches(meaning))
            {
                string highUnit = m.Groups["hu"].Value;
                string lowUnit = m.Groups["lu"].Success ? m.Groups["lu"].Value : highUnit;
                var type = Nullable.GetUnderlyingType(setting.Property.PropertyType) ?? setting.Property.PropertyType;
                if (type == typeof(TimeSpan))
                {
                    var low = TimeSpan.FromSeconds(Number(m.Groups["low"].Value) * Seconds(lowUnit));
                    var high = TimeSpan.FromSeconds(Number(m.Groups["high"].Value) * Seconds(highUnit));
                    var ms = TimeSpan.FromMilliseconds(1);
                    ranges.Add(new(key, m.Value.Trim(), Span(low), Span(high), Span(low - ms), Span(high + ms)));
                }
                else if (type == typeof(int) || type == typeof(long))
                {
                    long low = (long)(Number(m.Groups["low"].Value) * Scale(lowUnit));
                    long high = (long)(Number(m.Groups["high"].Value) * Scale(highUnit));
                    ranges.Add(new(key, m.Value.Trim(), Text(low), Text(high), Text(low - 1), Text(high + 1)));
                }
            }
        }

        return ranges;

        static string Span(TimeSpan t) => t.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        static string Text(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        static double Number(string text) => double.Parse(text.Replace(",", string.Empty, StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        static double Seconds(string unit) => unit switch
        {
            "ms" => 0.001,
            "s" or "" => 1,
            "min" => 60,
            "h" => 3600,
            "day" or "days" => 86_400,
            "year" or "years" => 365 * 86_400,
            _ => throw new FormatException($"{unit} is not a time unit"),
        };

        // a count, bytes, or seconds (an int of seconds written "0 – 30 days")
        static double Scale(string unit) => unit switch
        {
            "" or "B" => 1,
            "KiB" => 1024,
            "MiB" => 1024 * 1024,
            "GiB" => 1024 * 1024 * 1024,
            _ => Seconds(unit),
        };
    }

    /// <summary>Whether a validator's <paramref name="problem"/> names <paramref name="key"/> (e.g. "Gateway:HttpPort") and no other key of its section.</summary>
    public static bool NamesOnly(string problem, string key)
    {
        string section = key[..key.IndexOf(':', StringComparison.Ordinal)];
        return System.Text.RegularExpressions.Regex.Matches(problem, section + @"(:\w+)+").Select(m => m.Value).Distinct().SequenceEqual([key]);
    }

    private static List<(string Key, string Cell)> Cells(string[] lines, int column, string keyColumn = "key")
    {
        string start = $"|{keyColumn.Replace(" ", string.Empty, StringComparison.Ordinal)}|default|";
        int header = Array.FindIndex(lines, l => l.Replace(" ", string.Empty, StringComparison.Ordinal).StartsWith(start, StringComparison.Ordinal));
        var rows = new List<(string, string)>();
        for (int i = header + 2; header >= 0 && i < lines.Length && lines[i].StartsWith('|'); i++)
        {
            string[] cells = lines[i].Split('|');
            rows.Add((cells[1].Trim().Trim('`'), cells.Length > column ? cells[column].Trim() : string.Empty));
        }

        return rows;
    }

    private static string? Mismatch(Setting setting, string cell)
    {
        object? actual = setting.Default;
        string shown = actual is IEnumerable items and not string ? string.Join(", ", items.Cast<object>()) : Convert.ToString(actual, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
        if (cell == "—")
        {
            return shown.Length == 0 ? null : $"listed as unset, the class has '{shown}'";
        }

        if (cell.StartsWith('('))
        {
            return null; // described, e.g. (machine name)
        }

        if (cell.Length < 2 || cell[0] != '`' || cell[^1] != '`')
        {
            return $"default '{cell}' is neither `value`, — nor (description)";
        }

        string text = cell[1..^1];
        var type = setting.Property.PropertyType;
        bool same = actual is IEnumerable and not string
            ? text == shown
            : SettingsSchema.TryConvert(type, text) && Equals(SettingsSchema.Convert(type, text), actual);
        return same ? null : $"listed default `{text}`, the class has '{shown}'";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<low>\d[\d,]*(?:\.\d+)?)\s*(?<lu>B|KiB|MiB|GiB|ms|s|min|h|days?|years?)?(?![A-Za-z])\s*–\s*(?<high>\d[\d,]*(?:\.\d+)?)\s*(?<hu>B|KiB|MiB|GiB|ms|s|min|h|days?|years?|)(?![A-Za-z])")]
    private static partial System.Text.RegularExpressions.Regex RangeRegex();
}

/// <summary>A range an options table states for <see cref="Key"/>: the bounds and the nearest values outside, as configuration text.</summary>
/// <param name="Key">The key relative to the section.</param>
/// <param name="Text">The range as written.</param>
/// <param name="Low">The lowest value documented as valid.</param>
/// <param name="High">The highest value documented as valid.</param>
/// <param name="BelowLow">The nearest value below <paramref name="Low"/>.</param>
/// <param name="AboveHigh">The nearest value above <paramref name="High"/>.</param>
public sealed record DocumentedRange(string Key, string Text, string Low, string High, string BelowLow, string AboveHigh);
