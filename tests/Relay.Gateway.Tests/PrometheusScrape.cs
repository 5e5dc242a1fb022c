using System.Globalization;

namespace Relay.Gateway.Tests;

/// <summary>
/// Reads a <c>/metrics</c> page as an operator's scraper would: series → value. A series is keyed as written, minus
/// the exporter's <c>otel_scope_*</c> labels: <c>relay_gateway_sessions</c>, <c>relay_gateway_upgrades_total{path="http"}</c>.
/// </summary>
internal static class PrometheusScrape
{
    public static async Task<IReadOnlyDictionary<string, double>> GetAsync(HttpClient http, string baseUrl, CancellationToken token) =>
        Parse(await http.GetStringAsync(baseUrl + "/metrics", token));

    /// <summary>
    /// Scrapes until <paramref name="ready"/> holds (at most 200 scrapes, 25 ms apart) and returns the last scrape; the
    /// caller asserts on it. For gauges a client can be ahead of: a client has its 101 a moment before the relay counts
    /// the session (the upgrade answers first, then the session is registered and counted).
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, double>> GetWhenAsync(HttpClient http, string baseUrl, Func<IReadOnlyDictionary<string, double>, bool> ready, CancellationToken token)
    {
        var metrics = await GetAsync(http, baseUrl, token);
        for (int i = 0; i < 200 && !ready(metrics); i++)
        {
            await Task.Delay(25, token);
            metrics = await GetAsync(http, baseUrl, token);
        }

        return metrics;
    }

    public static IReadOnlyDictionary<string, double> Parse(string text)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            int space = line.LastIndexOf(' ');
            string key = line[..space];
            int brace = key.IndexOf('{', StringComparison.Ordinal);
            if (brace >= 0)
            {
                var labels = key[(brace + 1)..^1].Split(',').Where(l => l.Length > 0 && !l.StartsWith("otel_scope_", StringComparison.Ordinal));
                string joined = string.Join(',', labels);
                key = joined.Length == 0 ? key[..brace] : $"{key[..brace]}{{{joined}}}";
            }

            series[key] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }

        return series;
    }
}
