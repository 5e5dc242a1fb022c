using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Text;

namespace Relay.WanBench;

/// <summary>
/// Issue 18's HTTP mode (<c>--http N</c>): a far user's first API call (new TCP + TLS connection, then
/// <c>GET /api/whoami</c>) and a warm one (the same connection again), direct to core-sim's HTTPS port vs through the
/// relay (TLS to the near relay, then one round trip over the warm backhaul). Then, on that connection, the widget's
/// stylesheet cold (<c>/assets/widget.css?probe=UNIQUE</c>: a miss in the relay's edge cache, which keys on the query)
/// and warm (the same URL again: a hit at the relay; direct, the core answers again). N samples per path, one at a time.
/// </summary>
internal static class HttpProbe
{
    public static async Task<(List<double> First, List<double> Warm, List<double> AssetCold, List<double> AssetWarm, int Failed)> RunAsync(Uri baseUri, string thumbprint, int samples, CancellationToken token)
    {
        var first = new List<double>();
        var warm = new List<double>();
        var assetCold = new List<double>();
        var assetWarm = new List<double>();
        int failed = 0;
        for (int i = 0; i < samples; i++)
        {
            using var handler = new SocketsHttpHandler
            {
                SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && string.Equals(cert.GetCertHashString(), thumbprint, StringComparison.OrdinalIgnoreCase),
                },
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            };
            using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30), DefaultRequestVersion = HttpVersion.Version11 };
            try
            {
                first.Add(await TimeAsync(client, new Uri(baseUri, "/api/whoami"), token).ConfigureAwait(false));
                warm.Add(await TimeAsync(client, new Uri(baseUri, "/api/whoami"), token).ConfigureAwait(false));
                var asset = new Uri(baseUri, "/assets/widget.css?probe=" + Guid.NewGuid().ToString("N"));
                assetCold.Add(await TimeAsync(client, asset, token).ConfigureAwait(false));
                assetWarm.Add(await TimeAsync(client, asset, token).ConfigureAwait(false));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failed++;
            }
        }

        return (first, warm, assetCold, assetWarm, failed);
    }

    public static string Markdown(BenchOptions o, (string Name, List<double> First, List<double> Warm, List<double> AssetCold, List<double> AssetWarm, int Failed)[] rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"HTTP (issue 18): WAN {2 * o.WanOneWayMs:0} ms RTT, {o.Loss:P1} loss each way; near link {2 * o.NearOneWayMs:0} ms RTT; {o.HttpSamples} samples per path, `GET /api/whoami` over https, then `/assets/widget.css` cold and warm on that connection.");
        sb.AppendLine();
        sb.AppendLine("| path | first API call (new connection) p50 / p99 ms | warm API call p50 / p99 ms | asset cold p50 / p99 ms | asset warm p50 / p99 ms | failed |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {Report.Format(r.First, 50)} / {Report.Format(r.First, 99)} | {Report.Format(r.Warm, 50)} / {Report.Format(r.Warm, 99)} | {Report.Format(r.AssetCold, 50)} / {Report.Format(r.AssetCold, 99)} | {Report.Format(r.AssetWarm, 50)} / {Report.Format(r.AssetWarm, 99)} | {r.Failed} |");
        }

        return sb.ToString();
    }

    private static async Task<double> TimeAsync(HttpClient client, Uri uri, CancellationToken token)
    {
        long start = Stopwatch.GetTimestamp();
        using var response = await client.GetAsync(uri, token).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        _ = await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
