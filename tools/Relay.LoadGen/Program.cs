using System.Globalization;
using System.Runtime.InteropServices;
using Relay.LoadGen;

if (LoadCommandLine.WantsHelp(args))
{
    Console.WriteLine(LoadCommandLine.Usage());
    return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Ok;
}

try
{
    return args[0] == "compare" ? Compare(args) : await RunAsync(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException or IOException or System.Text.Json.JsonException)
{
    Console.Error.WriteLine($"loadgen: {e.Message}");
    return ExitCodes.Usage;
}

static async Task<int> RunAsync(string[] args)
{
    var command = LoadCommandLine.Parse(args);
    command.Options.Validate();
    return command.RoundsFromStdin ? await RunRoundsAsync(command.Options) : await RunOnceAsync(command.Options);
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

    int worst = ExitCodes.Ok;
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
        worst = ExitCodes.Worse(worst, await RunOnceAsync(round));
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
    string output = Path.GetFullPath(options.OutputDirectory); // relative to the current directory: say which one
    Console.WriteLine(ReportWriter.Write(report, output));
    Console.WriteLine($"Written: {Path.Combine(output, "result.json")}, summary.md, latency.html");
    int exitCode = ExitCodes.For(report);
    if (report.Lost > 0)
    {
        Console.Error.WriteLine($"LOST {report.Lost:N0} of {report.Expected:N0} expected deliveries (gaps in a sender's sequence and messages that never arrived): exit {exitCode}.");
    }

    if (report.ConnectFailures > 0)
    {
        string why = string.Join("; ", report.ConnectFailuresByReason.Take(3).Select(kv => $"{kv.Key} ({kv.Value:N0})"));
        Console.Error.WriteLine($"NOT CONNECTED: {report.ConnectFailures:N0} of {report.Sessions:N0} sessions never connected: {why}. The run measured {report.Connected:N0} sessions, not {report.Sessions:N0}: exit {exitCode}.");
    }

    return exitCode;
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
