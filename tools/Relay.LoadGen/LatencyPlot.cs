using System.Globalization;
using System.Net;
using System.Text;

namespace Relay.LoadGen;

/// <summary>A self-contained HTML report (inline SVG, no scripts, no CDN): latency by percentile, connect time by
/// percentile and messages per second over time, one line per run so runs compare side by side.</summary>
public static class LatencyPlot
{
    private const int Width = 720, Height = 340, Left = 64, Right = 40, Top = 28, Bottom = 48;
    private static readonly string[] s_colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;

    /// <summary>The HTML page for one or more labelled runs.</summary>
    public static string Html(string title, IReadOnlyList<(string Label, LoadReport Report)> runs)
    {
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title><style>")
          .Append("body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0}")
          .Append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}")
          .Append("svg{display:block;margin:12px 0}text{font:12px system-ui,sans-serif}</style></head><body>")
          .Append("<h1>").Append(E(title)).Append("</h1>");
        sb.Append("<table><tr><th>run</th><th>scenario</th><th>sessions</th><th>connected</th><th>msg/s</th><th>sent</th><th>received</th>")
          .Append("<th>lost</th><th>dup</th><th>ooo</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th>")
          .Append("<th>connect p99 ms</th><th>sessions/s</th></tr>");
        foreach (var (label, r) in runs)
        {
            sb.Append("<tr><td>").Append(E(label)).Append("</td><td>").Append(E(r.Scenario)).Append(r.RoomSize > 0 ? $" (rooms of {r.RoomSize})" : string.Empty).Append("</td>");
            foreach (var v in new object[] { r.Sessions, r.Connected, r.MessagesPerSecond, r.Sent, r.Received, r.Lost, r.Duplicated, r.OutOfOrder, r.LatencyMs.P50, r.LatencyMs.P90, r.LatencyMs.P99, r.LatencyMs.P999, r.LatencyMs.Max, r.ConnectMs.P99, r.SessionsPerSecond })
            {
                sb.Append("<td>").Append(Convert.ToString(v, s_c)).Append("</td>");
            }

            sb.Append("</tr>");
        }

        sb.Append("</table>");
        var latency = runs.Select(r => (r.Label, Points: PercentileSeries(r.Report.LatencyCurve))).Where(s => s.Points.Count > 0).ToList();
        if (latency.Count > 0)
        {
            sb.Append(Chart("Message round trip by percentile", "percentile", "ms (log)", latency, PercentileTicks, logY: true));
        }

        var connect = runs.Select(r => (r.Label, Points: PercentileSeries(r.Report.ConnectCurve))).Where(s => s.Points.Count > 0).ToList();
        if (connect.Count > 0)
        {
            sb.Append(Chart("Connect (to welcome) by percentile", "percentile", "ms (log)", connect, PercentileTicks, logY: true));
        }

        var rates = runs.Select(r => (r.Label, Points: RateSeries(r.Report.Timeline))).Where(s => s.Points.Count > 1).ToList();
        if (rates.Count > 0)
        {
            sb.Append(Chart("Messages received per second", "seconds since start", "msg/s", rates, null, logY: false));
        }

        sb.Append("<p>Commands:</p><ul>");
        foreach (var (label, r) in runs)
        {
            sb.Append("<li><b>").Append(E(label)).Append("</b>: <code>").Append(E(r.Command)).Append("</code></li>");
        }

        return sb.Append("</ul></body></html>\n").ToString();
    }

    // x = log10(100 / (100 - p)): 0 → 0, 90 → 1, 99 → 2, 99.9 → 3 … (100 has no place on this axis; max is in the table).
    private static List<(double X, double Y)> PercentileSeries(IReadOnlyList<PercentilePoint> curve) =>
        [.. curve.Where(p => p.Percentile < 100).Select(p => (Math.Log10(100 / (100 - p.Percentile)), p.Ms))];

    private static List<(double X, double Y)> RateSeries(IReadOnlyList<TimelinePoint> timeline)
    {
        var points = new List<(double, double)>();
        for (int i = 1; i < timeline.Count; i++)
        {
            double dt = timeline[i].Seconds - timeline[i - 1].Seconds;
            if (dt > 0)
            {
                points.Add((timeline[i].Seconds, (timeline[i].Received - timeline[i - 1].Received) / dt));
            }
        }

        return points;
    }

    private static readonly (double X, string Label)[] PercentileTicks = [(0, "0"), (Math.Log10(2), "50"), (1, "90"), (2, "99"), (3, "99.9"), (4, "99.99"), (5, "99.999")];

    private static string Chart(string title, string xLabel, string yLabel, List<(string Label, List<(double X, double Y)> Points)> series, (double X, string Label)[]? xTicks, bool logY)
    {
        double minX = series.Min(s => s.Points.Min(p => p.X)), maxX = series.Max(s => s.Points.Max(p => p.X));
        if (xTicks is not null)
        {
            minX = 0;
            maxX = Math.Max(maxX, 2);
        }

        maxX = maxX <= minX ? minX + 1 : maxX;
        double minY, maxY;
        if (logY)
        {
            minY = Math.Floor(Math.Log10(Math.Max(0.01, series.Min(s => s.Points.Min(p => p.Y)))));
            maxY = Math.Ceiling(Math.Log10(Math.Max(0.01, series.Max(s => s.Points.Max(p => p.Y)))));
            maxY = maxY <= minY ? minY + 1 : maxY;
        }
        else
        {
            minY = 0;
            maxY = NiceCeiling(series.Max(s => s.Points.Max(p => p.Y)));
        }

        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double x) => Left + ((x - minX) / (maxX - minX) * plotW);
        double Py(double y) => Top + plotH - (((logY ? Math.Log10(Math.Max(0.01, y)) : y) - minY) / (maxY - minY) * plotH);

        var sb = new StringBuilder();
        sb.Append(s_c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\">");
        sb.Append(s_c, $"<text x=\"{Left}\" y=\"16\" font-weight=\"bold\">{E(title)}</text>");
        sb.Append(s_c, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#999\"/>");
        var yTicks = logY
            ? Enumerable.Range((int)minY, (int)(maxY - minY) + 1).Select(e => (Value: Math.Pow(10, e), Label: Math.Pow(10, e).ToString("0.##", s_c)))
            : Enumerable.Range(0, 5).Select(i => (Value: maxY * i / 4, Label: (maxY * i / 4).ToString("N0", s_c)));
        foreach (var (value, label) in yTicks)
        {
            double y = Py(value);
            sb.Append(s_c, $"<line x1=\"{Left}\" x2=\"{Left + plotW}\" y1=\"{y:F1}\" y2=\"{y:F1}\" stroke=\"#eee\"/>");
            sb.Append(s_c, $"<text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{E(label)}</text>");
        }

        var ticks = xTicks ?? Enumerable.Range(0, 6).Select(i => (minX + ((maxX - minX) * i / 5), (minX + ((maxX - minX) * i / 5)).ToString("0.#", s_c))).ToArray();
        foreach (var (value, label) in ticks.Where(t => t.Item1 <= maxX + 1e-9))
        {
            double x = Px(value);
            sb.Append(s_c, $"<line x1=\"{x:F1}\" x2=\"{x:F1}\" y1=\"{Top}\" y2=\"{Top + plotH}\" stroke=\"#eee\"/>");
            sb.Append(s_c, $"<text x=\"{x:F1}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{E(label)}</text>");
        }

        sb.Append(s_c, $"<text x=\"{Left + (plotW / 2)}\" y=\"{Height - 8}\" text-anchor=\"middle\">{E(xLabel)}</text>");
        sb.Append(s_c, $"<text x=\"14\" y=\"{Top + (plotH / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {Top + (plotH / 2)})\">{E(yLabel)}</text>");
        for (int i = 0; i < series.Count; i++)
        {
            string colour = s_colours[i % s_colours.Length];
            var points = string.Join(' ', series[i].Points.Select(p => string.Create(s_c, $"{Px(p.X):F1},{Py(p.Y):F1}")));
            sb.Append(s_c, $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points}\"/>");
            foreach (var p in series[i].Points)
            {
                sb.Append(s_c, $"<circle cx=\"{Px(p.X):F1}\" cy=\"{Py(p.Y):F1}\" r=\"2.5\" fill=\"{colour}\"><title>{E(series[i].Label)}: {p.Y:0.###}</title></circle>");
            }

            double ly = Top + 14 + (i * 16);
            sb.Append(s_c, $"<rect x=\"{Left + 10}\" y=\"{ly - 9}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{Left + 26}\" y=\"{ly}\">{E(series[i].Label)}</text>");
        }

        return sb.Append("</svg>").ToString();
    }

    private static double NiceCeiling(double v)
    {
        if (v <= 0)
        {
            return 1;
        }

        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (double step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (v <= step * magnitude)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
