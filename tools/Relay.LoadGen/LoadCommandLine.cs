using System.Globalization;
using System.Text;

namespace Relay.LoadGen;

/// <summary>
/// The load generator's command line: one table of options, read by the parser and printed by --help with each
/// option's default taken from a fresh <see cref="LoadOptions"/>, so the help cannot drift from what a run does.
/// </summary>
internal static class LoadCommandLine
{
    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;

    private static readonly CommandLineOption[] s_options =
    [
        new("--url", "URL", "websocket URL (a gateway or core-sim's /ws); repeatable: sessions are spread over the URLs in turn and move to the next on each reconnect",
            _ => LoadOptions.DefaultUrl.ToString(), (c, v) => c.Options.Urls.Add(new Uri(v))),
        new("--token-url", "URL", "core-sim's POST /v1/tokens", o => o.TokenUrl.ToString(), (c, v) => c.Options.TokenUrl = new Uri(v)),
        new("--admin-key", "KEY", "core-sim's admin key: failover's kicks, --room-size, tokens outside Development",
            _ => "$RELAY_CORE_ADMIN_KEY, else none", (c, v) => c.Options.AdminKey = v),
        new("--fault-url", "URL", "failover: core-sim's fault API for the kicks", _ => "the token URL's host + /v1/faults", (c, v) => c.Options.FaultUrl = new Uri(v.TrimEnd('/') + "/")),
        new("--sessions", "N", "sessions, 1-100000", o => Number(o.Sessions), (c, v) => c.Options.Sessions = Int("--sessions", v)),
        new("--rate", "R|max", "messages per second per session, above 0 to 10000 (one pacer gives each session a turn every 1/R s); max: closed loop, send whenever the window has room",
            o => double.IsPositiveInfinity(o.Rate) ? "max" : Number(o.Rate), (c, v) => c.Options.Rate = v == "max" ? double.PositiveInfinity : Double("--rate", v)),
        new("--seconds", "S", "sending (steady, failover) or holding (idle) time, above 0 to 3600", o => Number(o.Seconds), (c, v) => c.Options.Seconds = Double("--seconds", v)),
        new("--warmup", "S", "seconds at the start of sending that are not measured, 0 to below --seconds", o => Number(o.Warmup), (c, v) => c.Options.Warmup = Double("--warmup", v)),
        new("--window", "N", "messages unacknowledged per session before its sends wait, 1-100000", o => Number(o.Window), (c, v) => c.Options.Window = Int("--window", v)),
        new("--room-size", "N", "0: echo; 2-1000: sessions in rooms of N, every message counted at every other member", o => Number(o.RoomSize), (c, v) => c.Options.RoomSize = Int("--room-size", v)),
        new("--connect-concurrency", "N", "connects in flight at once, at least 1", o => Number(o.ConnectConcurrency), (c, v) => c.Options.ConnectConcurrency = Int("--connect-concurrency", v)),
        new("--connect-attempts", "N", "failed connection attempts in a row (backoff up to 5 s between) before a session gives up, 1-1000",
            o => Number(o.ConnectAttempts), (c, v) => c.Options.ConnectAttempts = Int("--connect-attempts", v)),
        new("--fault-every", "S", "failover: seconds between kicks, above 0 to 3600", o => Number(o.FaultEvery), (c, v) => c.Options.FaultEvery = Double("--fault-every", v)),
        new("--heartbeat", "S", "seconds of silence before a session pings (the .NET client's heartbeat), 0 (off) to 3600",
            o => Number(o.Heartbeat), (c, v) => c.Options.Heartbeat = Double("--heartbeat", v)),
        new("--http2", null, "wss:// sessions as RFC 8441 streams, one HTTP/2 connection per session (a browser on a page loaded over HTTP/2)",
            o => o.Http2 ? "on" : "off", (c, _) => c.Options.Http2 = true),
        new("--cross-cpu-probe", null, "record each second how long a cache line takes between two CPUs and back (where a VM's vCPUs are placed; Linux)",
            o => o.CrossCpuProbe ? "on" : "off", (c, _) => c.Options.CrossCpuProbe = true),
        new("--progress", "auto|on|off", "live table; auto: on unless stdout is redirected", o => o.Progress, (c, v) => c.Options.Progress = v),
        new("--ready-file", "PATH", "written with the connected count once every session has connected", o => o.ReadyFile ?? "none", (c, v) => c.Options.ReadyFile = v),
        new("--out", "DIR", "folder for result.json, summary.md and latency.html, relative to the current directory",
            o => "./" + o.OutputDirectory, (c, v) => c.Options.OutputDirectory = v),
        new("--allow-remote", null, "allow --url, --token-url and --fault-url that are not loopback", o => o.AllowRemote ? "on" : "off", (c, _) => c.Options.AllowRemote = true),
        new("--rounds-from-stdin", null, "one process, a run per line read, \"URL OUT_DIR [READY_FILE]\"; \"done OUT_DIR\" after each report",
            _ => "off", (c, _) => c.RoundsFromStdin = true),
    ];

    /// <summary>True when <paramref name="args"/> asks for help (or is empty).</summary>
    public static bool WantsHelp(string[] args) => args.Length == 0 || args.Any(a => a is "-h" or "--help");

    /// <summary>Reads SCENARIO [options]; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    public static LoadCommand Parse(string[] args)
    {
        var command = new LoadCommand();
        command.Options.Scenario = args[0];
        for (int i = 1; i < args.Length; i++)
        {
            var option = s_options.FirstOrDefault(o => o.Name == args[i]) ?? throw new ArgumentException($"unknown option {args[i]} (--help lists them)");
            string value = option.Value is null ? string.Empty
                : i + 1 < args.Length ? args[++i]
                : throw new ArgumentException($"{option.Name}: needs a value ({option.Value}).");
            option.Apply(command, value);
        }

        return command;
    }

    /// <summary>What --help prints: every option with its default.</summary>
    public static string Usage()
    {
        var defaults = new LoadOptions();
        int width = s_options.Max(o => Left(o).Length) + 2;
        var sb = new StringBuilder();
        sb.AppendLine("usage: Relay.LoadGen SCENARIO [options]     (in a checkout: ./build.sh load SCENARIO [options], or scripts/load.sh)");
        sb.AppendLine("       Relay.LoadGen compare --out DIR [--title T] LABEL=RESULT_DIR...   (runs side by side: comparison.md and comparison.html)");
        sb.AppendLine();
        sb.AppendLine("scenarios:");
        sb.AppendLine("  connect-storm  connect every session, one echo each, close");
        sb.AppendLine("  steady         every session sends for --seconds; each echo checked: lost, duplicated, out of order");
        sb.AppendLine("  failover       steady, and a quarter of the sessions kicked through core-sim's fault API every --fault-every s");
        sb.AppendLine("  idle           connect, hold --seconds, close");
        sb.AppendLine();
        sb.AppendLine("options:");
        foreach (var o in s_options)
        {
            sb.AppendLine(s_c, $"  {Left(o).PadRight(width)}{o.Help} (default: {o.Default(defaults)})");
        }

        sb.AppendLine();
        sb.AppendLine("exit codes: 0 every session connected, nothing lost, duplicated or reordered; 1 something lost, duplicated or reordered;");
        sb.AppendLine("            2 bad arguments or setup (no token); 3 nothing lost, but sessions never connected (why: in the summary, by reason).");
        sb.AppendLine("Ctrl-C (or SIGTERM) ends the sending early and still writes the reports; a second one stops at once. More: bench/README.md, \"Load generator\".");
        return sb.ToString();
    }

    private static string Left(CommandLineOption o) => o.Value is null ? o.Name : $"{o.Name} {o.Value}";

    private static string Number(double value) => value.ToString(s_c);

    private static int Int(string name, string value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, s_c, out int n) ? n : throw new ArgumentException($"{name}: a whole number; was '{value}'.");

    private static double Double(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, s_c, out double d) ? d : throw new ArgumentException($"{name}: a number; was '{value}'.");
}
