using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Relay.LoadGen;

/// <summary>Writes result.json, summary.md and latency.html; reads result.json back for comparisons.</summary>
public static class ReportWriter
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Writes the three files into <paramref name="directory"/>; returns the Markdown.</summary>
    public static string Write(LoadReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "result.json"), JsonSerializer.Serialize(report, s_json));
        var md = ToMarkdown(report);
        File.WriteAllText(Path.Combine(directory, "summary.md"), md);
        File.WriteAllText(Path.Combine(directory, "latency.html"), LatencyPlot.Html($"Relay load: {report.Scenario}", [(report.Scenario, report)]));
        return md;
    }

    /// <summary>Reads a result.json (a file, or the directory holding it).</summary>
    public static LoadReport Read(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "result.json") : path;
        return JsonSerializer.Deserialize<LoadReport>(File.ReadAllText(file), s_json) ?? throw new InvalidDataException($"{file}: empty");
    }

    /// <summary>Writes comparison.md and comparison.html for labelled runs into <paramref name="directory"/>; returns the Markdown.</summary>
    public static string WriteComparison(string title, IReadOnlyList<(string Label, LoadReport Report)> runs, string directory)
    {
        Directory.CreateDirectory(directory);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"## {title}");
        sb.AppendLine();
        sb.AppendLine("| run | scenario | sessions | connected | offered/s | sent/s | msg/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | connect p50 / p99 ms | sessions/s | lost | dup | ooo | reconnects |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (label, r) in runs)
        {
            string offered = double.IsPositiveInfinity(r.RatePerSession) ? $"max (window {r.Window})" : r.RatePerSession > 0 ? (r.RatePerSession * r.Connected).ToString("N0", c) : "-";
            sb.AppendLine(c, $"| {label} | {r.Scenario}{(r.RoomSize > 0 ? $" rooms of {r.RoomSize}" : string.Empty)} | {r.Sessions:N0} | {r.Connected:N0} | {offered} | {r.SentPerSecond:N0} | {r.MessagesPerSecond:N0} | {r.LatencyMs.P50} | {r.LatencyMs.P90} | {r.LatencyMs.P99} | {r.LatencyMs.P999} | {r.LatencyMs.Max} | {r.ConnectMs.P50} / {r.ConnectMs.P99} | {r.SessionsPerSecond:N0} | {r.Lost} | {r.Duplicated} | {r.OutOfOrder} | {r.Reconnects} |");
        }

        var md = sb.ToString();
        File.WriteAllText(Path.Combine(directory, "comparison.md"), md);
        File.WriteAllText(Path.Combine(directory, "comparison.html"), LatencyPlot.Html(title, runs));
        return md;
    }

    /// <summary>The Markdown summary.</summary>
    public static string ToMarkdown(LoadReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"## Relay load: {r.Scenario}{(r.RoomSize > 0 ? $" (rooms of {r.RoomSize}; received counts deliveries to every other member)" : string.Empty)}");
        sb.AppendLine();
        sb.AppendLine("| sessions | connected | connect failures | sent | expected | received | lost | duplicated | out of order | sent/s | msg/s | reconnects |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        sb.AppendLine(c, $"| {r.Sessions} | {r.Connected} | {r.ConnectFailures} | {r.Sent} | {r.Expected} | {r.Received} | {r.Lost} | {r.Duplicated} | {r.OutOfOrder} | {r.SentPerSecond} | {r.MessagesPerSecond} | {r.Reconnects} |");
        sb.AppendLine();
        if (r.ConnectFailures > 0)
        {
            sb.AppendLine(c, $"**{r.ConnectFailures} of {r.Sessions} sessions never connected: this run measured {r.Connected} sessions, not {r.Sessions}.** Each gave up after its connection attempts failed; by the reason of its last attempt:");
            sb.AppendLine();
            AppendReasons(sb, "sessions", r.ConnectFailuresByReason);
        }

        if (r.FailedAttemptsByReason.Count > 0)
        {
            sb.AppendLine("Failed connection attempts (first connects, their retries, and reconnects), by reason:");
            sb.AppendLine();
            AppendReasons(sb, "attempts", r.FailedAttemptsByReason);
        }

        sb.AppendLine("| ms | p50 | p90 | p99 | p99.9 | max |");
        sb.AppendLine("|---|---|---|---|---|---|");
        sb.AppendLine(c, $"| message round trip | {r.LatencyMs.P50} | {r.LatencyMs.P90} | {r.LatencyMs.P99} | {r.LatencyMs.P999} | {r.LatencyMs.Max} |");
        sb.AppendLine(c, $"| connect (to welcome) | {r.ConnectMs.P50} | {r.ConnectMs.P90} | {r.ConnectMs.P99} | {r.ConnectMs.P999} | {r.ConnectMs.Max} |");
        sb.AppendLine();
        sb.AppendLine(c, $"Connect phase: {r.Connected} sessions in {r.ConnectSeconds} s ({r.SessionsPerSecond} sessions/s). Window per session: {r.Window}.{(r.Http2 ? " wss:// sessions over HTTP/2 (RFC 8441), one connection each." : string.Empty)} Warm-up not measured: {r.WarmupSeconds} s. Load generator CPU: {r.LoadGenCpuSeconds} s in {r.Seconds} s.{(r.StoppedEarly ? " Stopped early by a signal (Ctrl-C or SIGTERM) before --seconds; drained and counted all the same." : string.Empty)}");
        if (r.ClosesByCode.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(c, $"Closes by code: {string.Join(", ", r.ClosesByCode.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        }

        if (r.SessionsRestarted > 0)
        {
            sb.AppendLine();
            sb.AppendLine(c, $"Sessions restarted: {r.SessionsRestarted} reconnects came back as a new session (the core had ended the old one: session_unknown, 4004); what it had queued for them is gone.");
        }

        return sb.ToString();
    }

    private static void AppendReasons(StringBuilder sb, string what, IReadOnlyDictionary<string, int> reasons)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"| reason | {what} |");
        sb.AppendLine("|---|---:|");
        foreach (var (reason, count) in reasons)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {reason.Replace("|", "\\|", StringComparison.Ordinal)} | {count} |");
        }

        sb.AppendLine();
    }
}
