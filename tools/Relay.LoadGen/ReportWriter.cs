using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Relay.LoadGen;

/// <summary>Writes result.json and summary.md.</summary>
public static class ReportWriter
{
    /// <summary>Writes both files into <paramref name="directory"/>; returns the Markdown.</summary>
    public static string Write(LoadReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "result.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        var md = ToMarkdown(report);
        File.WriteAllText(Path.Combine(directory, "summary.md"), md);
        return md;
    }

    /// <summary>The Markdown summary.</summary>
    public static string ToMarkdown(LoadReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"## Relay load: {r.Scenario}");
        sb.AppendLine();
        sb.AppendLine("| sessions | connected | connect failures | sent | received | lost | duplicated | out of order | msg/s | reconnects |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        sb.AppendLine(c, $"| {r.Sessions} | {r.Connected} | {r.ConnectFailures} | {r.Sent} | {r.Received} | {r.Lost} | {r.Duplicated} | {r.OutOfOrder} | {r.MessagesPerSecond} | {r.Reconnects} |");
        sb.AppendLine();
        sb.AppendLine("| ms | p50 | p90 | p99 | p99.9 | max |");
        sb.AppendLine("|---|---|---|---|---|---|");
        sb.AppendLine(c, $"| message round trip | {r.LatencyMs.P50} | {r.LatencyMs.P90} | {r.LatencyMs.P99} | {r.LatencyMs.P999} | {r.LatencyMs.Max} |");
        sb.AppendLine(c, $"| connect (to welcome) | {r.ConnectMs.P50} | {r.ConnectMs.P90} | {r.ConnectMs.P99} | {r.ConnectMs.P999} | {r.ConnectMs.Max} |");
        if (r.ClosesByCode.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(c, $"Closes by code: {string.Join(", ", r.ClosesByCode.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        }

        return sb.ToString();
    }
}
