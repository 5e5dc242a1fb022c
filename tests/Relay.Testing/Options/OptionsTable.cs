using System.Collections;
using Relay.Contracts.Configuration;

namespace Relay.Testing.Options;

/// <summary>
/// Checks a markdown options table (<c>| key | default | meaning |</c>, keys relative to the section) against a
/// <see cref="SettingsSchema"/>: every key listed once, no stale row, every default as the class has it. A default is
/// a value as configuration would take it in backticks, — for unset or empty, or a description in parentheses
/// (not compared).
/// </summary>
public static class OptionsTable
{
    /// <summary>What is wrong with the table in <paramref name="markdownPath"/> (relative to the checkout root); empty when nothing is.</summary>
    public static IReadOnlyList<string> Problems(SettingsSchema schema, string markdownPath, string? skipPrefix = null)
    {
        var rows = Rows(File.ReadAllLines(Path.Combine(Repo.Root, markdownPath)));
        var problems = new List<string>();
        if (rows.Count == 0)
        {
            problems.Add($"{markdownPath}: no '| key | default | meaning |' table");
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

    private static List<(string Key, string Default)> Rows(string[] lines)
    {
        int header = Array.FindIndex(lines, l => l.Replace(" ", string.Empty, StringComparison.Ordinal).StartsWith("|key|default|", StringComparison.Ordinal));
        var rows = new List<(string, string)>();
        for (int i = header + 2; header >= 0 && i < lines.Length && lines[i].StartsWith('|'); i++)
        {
            string[] cells = lines[i].Split('|');
            rows.Add((cells[1].Trim().Trim('`'), cells[2].Trim()));
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
}
