using System.Globalization;
using System.Runtime.InteropServices;
using Relay.LoadGen;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: Relay.LoadGen connect-storm|steady|failover|idle [--url ws://127.0.0.1:7080/ws]... [--token-url URL] [--admin-key KEY] [--fault-url URL]");
    Console.WriteLine("       [--sessions N] [--rate MSG_PER_S] [--seconds S] [--warmup S] [--room-size N] [--window N] [--connect-concurrency N]");
    Console.WriteLine("       [--fault-every S] [--http2] [--progress auto|on|off] [--ready-file PATH] [--out DIR] [--allow-remote] [--rounds-from-stdin]");
    Console.WriteLine("       --http2: wss:// sessions as RFC 8441 streams, one HTTP/2 connection per session (a browser on a page loaded over HTTP/2)");
    Console.WriteLine("       --rounds-from-stdin: one process, a run per line read, \"URL OUT_DIR [READY_FILE]\"; \"done OUT_DIR\" after each report");
    Console.WriteLine("       Relay.LoadGen compare --out DIR [--title T] LABEL=RESULT_DIR...   (side-by-side comparison.md and comparison.html)");
    return args.Length == 0 ? 2 : 0;
}

try
{
    return args[0] == "compare" ? Compare(args) : await RunAsync(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException or IOException or System.Text.Json.JsonException)
{
    Console.Error.WriteLine($"loadgen: {e.Message}");
    return 2;
}

static async Task<int> RunAsync(string[] args)
{
    var options = new LoadOptions { Scenario = args[0] };
    bool rounds = false;
    for (int i = 1; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]}: needs a value.");
        switch (args[i])
        {
            case "--url": options.Urls.Add(new Uri(Next())); break;
            case "--token-url": options.TokenUrl = new Uri(Next()); break;
            case "--fault-url": options.FaultUrl = new Uri(Next().TrimEnd('/') + "/"); break;
            case "--sessions": options.Sessions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--rate": options.Rate = Next() is "max" ? double.PositiveInfinity : double.Parse(args[i], CultureInfo.InvariantCulture); break;
            case "--seconds": options.Seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--warmup": options.Warmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--admin-key": options.AdminKey = Next(); break;
            case "--room-size": options.RoomSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--window": options.Window = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--connect-concurrency": options.ConnectConcurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--fault-every": options.FaultEvery = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--progress": options.Progress = Next(); break;
            case "--ready-file": options.ReadyFile = Next(); break;
            case "--out": options.OutputDirectory = Next(); break;
            case "--allow-remote": options.AllowRemote = true; break;
            case "--http2": options.Http2 = true; break;
            case "--rounds-from-stdin": rounds = true; break;
            default: throw new ArgumentException($"unknown option {args[i]}");
        }
    }

    options.Validate();
    return rounds ? await RunRoundsAsync(options) : await RunOnceAsync(options);
}

// One warm process for several runs (issue 21's rounds: what moves between them is the target, not a fresh load
// generator's JIT and pools): each line on stdin, "URL OUT_DIR [READY_FILE]", is one run of the scenario against URL;
// "done OUT_DIR" on stdout once its report is written. Ends at the end of stdin; exit code the worst run's.
static async Task<int> RunRoundsAsync(LoadOptions options)
{
    if (options.Progress == "on")
    {
        throw new ArgumentException("--rounds-from-stdin: stdout answers each round; --progress must be off (or auto).");
    }

    options.Progress = "off";

    int worst = 0;
    while (await Console.In.ReadLineAsync() is { } line)
    {
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            continue;
        }

        if (parts.Length > 3 || parts.Length < 2)
        {
            throw new ArgumentException($"--rounds-from-stdin: a round is \"URL OUT_DIR [READY_FILE]\"; got \"{line}\"");
        }

        var round = options.ForRound(new Uri(parts[0]), parts[1], parts.Length == 3 ? parts[2] : null);
        round.Validate();
        worst = Math.Max(worst, await RunOnceAsync(round));
        Console.WriteLine($"done {round.OutputDirectory}");
    }

    return worst;
}

static async Task<int> RunOnceAsync(LoadOptions options)
{
    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds + 120));
    var runner = new LoadRunner(options);
    // The first Ctrl-C (or SIGTERM) ends the sending early: the run drains, counts and writes its report as at its end.
    // A second one stops the process at once.
    int signals = 0;
    void Stop(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref signals) == 1)
        {
            context.Cancel = true;
            Console.Error.WriteLine("loadgen: stopping early: draining, then writing the report (again to abort)");
            runner.StopSending();
        }
    }

    using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    var run = runner.RunAsync(cts.Token);
    var report = ProgressDisplay.IsEnabled(options.Progress) ? await ProgressDisplay.ShowAsync(runner, options, run) : await run;
    Console.WriteLine(ReportWriter.Write(report, options.OutputDirectory));
    Console.WriteLine($"Written: {Path.Combine(options.OutputDirectory, "result.json")}, summary.md, latency.html");
    if (report.Lost > 0)
    {
        Console.Error.WriteLine($"LOST {report.Lost:N0} of {report.Expected:N0} expected deliveries (gaps in a sender's sequence and messages that never arrived): exit 1.");
    }

    return report.Lost == 0 && report.Duplicated == 0 && report.OutOfOrder == 0 ? 0 : 1;
}

static int Compare(string[] args)
{
    string? output = null;
    string title = "Relay load: side by side";
    var runs = new List<(string, LoadReport)>();
    for (int i = 1; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]}: needs a value.");
        switch (args[i])
        {
            case "--out": output = Next(); break;
            case "--title": title = Next(); break;
            default:
                int eq = args[i].IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new ArgumentException($"compare: expected LABEL=RESULT_DIR, got '{args[i]}'");
                }

                runs.Add((args[i][..eq], ReportWriter.Read(args[i][(eq + 1)..])));
                break;
        }
    }

    if (output is null || runs.Count == 0)
    {
        throw new ArgumentException("compare: needs --out DIR and at least one LABEL=RESULT_DIR");
    }

    Console.WriteLine(ReportWriter.WriteComparison(title, runs, output));
    return 0;
}
