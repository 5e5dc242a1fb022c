using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Relay.CoreSim;
using Relay.Tunnel.Pool;

namespace Relay.Gateway.Tests.Logging;

/// <summary>docs/logging.md: an event id names one message in its assembly, and lies in its type's written range.</summary>
public partial class EventIdTests
{
    private static IEnumerable<(int Id, string Type, string Method)> Messages(Assembly assembly) => assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
        .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
        .Where(x => x.Attribute is not null)
        .Select(x => (x.Attribute!.EventId, x.Method.DeclaringType!.DeclaringType?.Name ?? x.Method.DeclaringType.Name, x.Method.Name))
        .ToList();

    private static IEnumerable<Assembly> Assemblies() => [typeof(GatewayHost).Assembly, typeof(LinkPool).Assembly, typeof(CoreSimHost).Assembly, typeof(Relay.WireGuard.WireGuardTunnel).Assembly];

    [TestCaseSource(nameof(Assemblies))]
    public void LoggerMessages_InOneAssembly_HaveUniqueEventIds(Assembly assembly)
    {
        var messages = Messages(assembly).ToList();
        Assert.That(messages, Is.Not.Empty, "LoggerMessage attributes are visible to reflection");
        var duplicates = messages.GroupBy(m => m.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => $"{m.Type}.{m.Method}"))}");
        Assert.That(duplicates, Is.Empty);
    }

    [TestCaseSource(nameof(Assemblies))]
    public void LoggerMessages_EachId_LiesInItsTypesRangeInDocsLogging(Assembly assembly)
    {
        string name = assembly.GetName().Name!;
        var rows = RangeRow().Matches(File.ReadAllText(DocsLogging()))
            .Where(m => m.Groups["assembly"].Value.StartsWith(name, StringComparison.Ordinal))
            .Select(m => (From: int.Parse(m.Groups["from"].Value, CultureInfo.InvariantCulture), To: int.Parse(m.Groups["to"].Value, CultureInfo.InvariantCulture), Type: m.Groups["type"].Value))
            .ToList();
        Assert.That(rows, Is.Not.Empty, $"docs/logging.md has {name}'s ranges");
        var outside = Messages(assembly).Where(m => !rows.Any(r => m.Id >= r.From && m.Id <= r.To && (r.Type.Length == 0 || r.Type == m.Type)));
        Assert.That(outside.Select(m => $"{m.Type}.{m.Method} ({m.Id})"), Is.Empty, "ids outside their type's range in docs/logging.md");
    }

    /// <summary>The "Used" column of docs/logging.md: exactly the ids each type's messages use (none unlisted, none stale).</summary>
    [TestCaseSource(nameof(Assemblies))]
    public void LoggerMessages_EachType_UsesTheIdsDocsLoggingLists(Assembly assembly)
    {
        string name = assembly.GetName().Name!;
        var rows = UsedRow().Matches(File.ReadAllText(DocsLogging()))
            .Where(m => m.Groups["assembly"].Value == name)
            .ToList();
        Assert.That(rows, Is.Not.Empty, $"docs/logging.md has {name}'s rows");
        var messages = Messages(assembly).ToList();
        var wrong = new List<string>();
        foreach (var row in rows)
        {
            string type = row.Groups["type"].Value;
            int from = int.Parse(row.Groups["from"].Value, CultureInfo.InvariantCulture);
            int to = row.Groups["to"].Success ? int.Parse(row.Groups["to"].Value, CultureInfo.InvariantCulture) : from;
            var listed = Enumerable.Range(from, to - from + 1).ToList();
            var used = messages.Where(m => m.Type == type).Select(m => m.Id).Distinct().Order().ToList();
            if (!listed.SequenceEqual(used))
            {
                wrong.Add($"{type}: listed {from}–{to}, used {string.Join(", ", used)}");
            }
        }

        Assert.That(wrong, Is.Empty, "the Used column of docs/logging.md");
    }

    private static string DocsLogging()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "docs", "logging.md");
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException("docs/logging.md above " + AppContext.BaseDirectory);
    }

    // | Relay.Gateway | 1000–1009 | `SessionEndpoint` (…) | …
    [GeneratedRegex(@"^\| (?<assembly>Relay\.[\w.]+)[^|]*\| (?<from>\d+)–(?<to>\d+) \| (?:`(?<type>\w+)`)?", RegexOptions.Multiline)]
    private static partial Regex RangeRow();

    // | Relay.Gateway | 1000–1009 | `SessionEndpoint` (…) | 1000–1002 (a note) |
    [GeneratedRegex(@"^\| (?<assembly>Relay\.[\w.]+) \| \d+–\d+ \| `(?<type>\w+)`[^|]*\| (?<from>\d+)(?:–(?<to>\d+))?", RegexOptions.Multiline)]
    private static partial Regex UsedRow();
}
