using System.Globalization;
using Spectre.Console;

namespace Relay.LoadGen;

/// <summary>A live table (Spectre.Console) refreshed twice a second while a run goes; off when stdout is redirected
/// unless asked for.</summary>
public static class ProgressDisplay
{
    /// <summary>True when the display should run for this setting (auto: only on an interactive terminal).</summary>
    public static bool IsEnabled(string setting) => setting switch
    {
        "on" => true,
        "off" => false,
        _ => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive,
    };

    /// <summary>Shows the runner's progress until <paramref name="run"/> ends; returns its result.</summary>
    public static async Task<LoadReport> ShowAsync(LoadRunner runner, LoadOptions options, Task<LoadReport> run)
    {
        var table = Build(runner.Snapshot(), options, 0);
        await AnsiConsole.Live(table).AutoClear(false).StartAsync(async ctx =>
        {
            long lastReceived = 0;
            double lastSeconds = 0;
            while (!run.IsCompleted)
            {
                await Task.WhenAny(run, Task.Delay(500)).ConfigureAwait(false);
                var p = runner.Snapshot();
                double rate = p.ElapsedSeconds > lastSeconds ? (p.Received - lastReceived) / (p.ElapsedSeconds - lastSeconds) : 0;
                (lastReceived, lastSeconds) = (p.Received, p.ElapsedSeconds);
                ctx.UpdateTarget(Build(p, options, rate));
            }
        }).ConfigureAwait(false);
        return await run.ConfigureAwait(false);
    }

    private static Table Build(LoadProgress p, LoadOptions o, double rate)
    {
        var c = CultureInfo.InvariantCulture;
        double total = o.IsTimed || o.Scenario == "idle" ? o.Seconds : 0;
        string connected = $"{p.Connected.ToString("N0", c)} / {p.Sessions.ToString("N0", c)}" + (p.ConnectFailures > 0 ? $" [red]({p.ConnectFailures} failed)[/]" : string.Empty);
        string bad = p.Duplicated + p.OutOfOrder > 0 ? $"[red]{p.Duplicated} / {p.OutOfOrder}[/]" : "0 / 0";
        var table = new Table().Border(TableBorder.Rounded).HideHeaders()
            .Title($"[bold]relay load: {Markup.Escape(o.Scenario)}[/]")
            .AddColumn("what").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("target", Markup.Escape(string.Join(", ", o.Urls)));
        table.AddRow("phase", $"[bold]{Markup.Escape(p.Phase)}[/]");
        table.AddRow("elapsed", total > 0 ? $"{p.ElapsedSeconds.ToString("F0", c)} s (sending {total.ToString("F0", c)} s)" : $"{p.ElapsedSeconds.ToString("F0", c)} s");
        table.AddRow("connected", connected);
        if (p.FailedAttempts > 0)
        {
            table.AddRow("failed connection attempts", $"[red]{p.FailedAttempts.ToString("N0", c)}[/] (most: {Markup.Escape(p.TopFailedAttempt ?? "?")})");
        }

        table.AddRow("sent / received", $"{p.Sent.ToString("N0", c)} / {p.Received.ToString("N0", c)}");
        table.AddRow("received per second now", rate.ToString("N0", c));
        table.AddRow("latency p50 / p99", $"{p.LatencyMs.P50.ToString("F2", c)} / {p.LatencyMs.P99.ToString("F2", c)} ms");
        table.AddRow("reconnects", p.Reconnects.ToString("N0", c));
        table.AddRow("lost in gaps", p.Skipped > 0 ? $"[red]{p.Skipped.ToString("N0", c)}[/]" : "0");
        table.AddRow("duplicated / out of order", bad);
        return table;
    }
}
