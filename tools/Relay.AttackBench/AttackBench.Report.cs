using System.Globalization;
using System.Text;

namespace Relay.AttackBench;

internal sealed partial class AttackBench
{
    private static string Row(PhaseResult p) => string.Create(CultureInfo.InvariantCulture,
        $"attack bench: {p.Name}: connected {p.Load.Connected}/{p.Load.Sessions}, sent {p.Load.Sent}, received {p.Load.Received}, lost {p.Lost}, p50 {p.Load.LatencyMs.P50} ms, p99 {p.Load.LatencyMs.P99} ms, gateway RSS peak {Mib(p.Watch.GatewayRssPeakKib)}, core-sim RSS peak {Mib(p.Watch.CoreRssPeakKib)}");

    private string Report(PhaseResult baseline, PhaseResult? flood, bool died, int? exitCode, long gatewayHwmKib, long coreHwmKib)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        void Line(string s) => sb.Append(s).Append('\n');
        string Cell(PhaseResult? p, Func<PhaseResult, string> f) => p is null ? "not run (gateway gone)" : f(p);

        Line($"# Attack bench ({DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mmZ", inv)})");
        Line("");
        Line(string.Create(inv, $"{_o.Sessions} legitimate sessions (echo, {_o.Rate} msg/s each, {_o.Seconds} s, first {_o.Warmup} s not measured) through one gateway, without and then with a flood of"));
        Line(string.Create(inv, $"{_o.GatewayConnections} connections to the gateway's HTTP port ({Math.Round(_o.GatewayConnections * _o.HalfOpenShare)} half-open upgrades: request head one line every 3 s, never finished; the rest idle)"));
        Line(string.Create(inv, $"and {_o.BackhaulConnections} connections to core-sim's backhaul port that never send a byte, from {_o.Sources} loopback addresses (127.0.x.y), reopened when closed."));
        Line(string.Create(inv, $"Machine: {Environment.ProcessorCount} vCPU, open files per process {_fileLimit}; core-sim, gateway, bench and flood share the cores{(_o.FloodIdlePriority ? "; the flood runs at idle priority (SCHED_IDLE: it stands in for the attacker's own machines)" : "; the flood runs at normal priority")}. Gateway: defaults except MaxSessionsPerIp = {_o.Sessions + 100} and MaxPreAuthConnectionsPerIp = {Math.Min(_o.Sessions + 100, 1000)} (the legitimate sessions all come from 127.0.0.1){(_o.GatewayArgs.Count > 0 ? ", " + string.Join(' ', _o.GatewayArgs) : "")}."));
        Line($"Load average at the start: {_loadAtStart}; at the end: {LoadAverage()} (other work on the machine moves the latency figures).");
        Line("");
        Line("| figure | without flood | with flood | target |");
        Line("|---|---:|---:|---|");
        Line($"| legitimate sessions connected | {baseline.Load.Connected}/{baseline.Load.Sessions} | {Cell(flood, p => $"{p.Load.Connected}/{p.Load.Sessions}")} | all |");
        Line($"| legitimate messages sent / received | {baseline.Load.Sent} / {baseline.Load.Received} | {Cell(flood, p => $"{p.Load.Sent} / {p.Load.Received}")} | |");
        Line($"| **legitimate messages lost** (a gap is a loss) | {baseline.Lost} | {Cell(flood, p => $"**{p.Lost}**")} | 0 |");
        Line($"| legitimate reconnects / duplicated / out of order | {Misc(baseline)} | {Cell(flood, Misc)} | 0 |");
        Line(string.Create(inv, $"| legitimate RTT p50 / p99 / max ms | {Rtt(baseline)} | {Cell(flood, Rtt)} | |"));
        Line($"| **legitimate p99 with / without flood** | | {Cell(flood, p => Ratio(p.Load.LatencyMs.P99, baseline.Load.LatencyMs.P99))} | ≤ 2× |");
        Line($"| CPU over the phase, % of one core: gateway / core-sim / bench (legitimate load) / flood | {Cpu(baseline)} | {Cell(flood, Cpu)} | |");
        Line($"| gateway GC over the phase: pause ms / collections gen0 / gen1 / gen2 / allocated MiB | {Gc(baseline)} | {Cell(flood, Gc)} | |");
        Line($"| gateway RSS peak (VmRSS every 200 ms) | {Mib(baseline.Watch.GatewayRssPeakKib)} | {Cell(flood, p => Mib(p.Watch.GatewayRssPeakKib))} | bounded |");
        Line($"| core-sim RSS peak | {Mib(baseline.Watch.CoreRssPeakKib)} | {Cell(flood, p => Mib(p.Watch.CoreRssPeakKib))} | bounded |");
        Line($"| gateway process exited | {Exited(baseline)} | {Cell(flood, Exited)} | never |");
        Line($"| gateway /readyz (every 200 ms): 200 / not ready / no answer in 1 s | {Ready(baseline)} | {Cell(flood, Ready)} | 200 |");
        Line(string.Create(inv, $"| longest stretch not ready | {baseline.Watch.LongestNotReadySeconds:F1} s | {Cell(flood, p => string.Create(inv, $"{p.Watch.LongestNotReadySeconds:F1} s"))} | |"));
        Line($"| gateway /status unanswered (in 1 s) | {baseline.Watch.StatusNoAnswer} | {Cell(flood, p => p.Watch.StatusNoAnswer.ToString(inv))} | 0 |");
        Line($"| gateway accept waits (the accept budget spent: `connections.accept.waits`) | {baseline.Watch.AcceptWaits?.ToString(inv) ?? "–"} | {Cell(flood, p => p.Watch.AcceptWaits?.ToString(inv) ?? "–")} | |");
        Line($"| **Under Attack mode on after** | | {Cell(flood, UnderAttack)} | seconds |");
        Line($"| a second relay started {JoinAfter.TotalSeconds:F0} s in: ready (link to the core up) after | {Join(baseline)} | {Cell(flood, Join)} | seconds |");
        Line($"| new sessions during the flood (1/s, 5 s each): ok / failed, p50 / max ms | | {Cell(flood, NewSessions)} | all ok |");
        if (flood is not null)
        {
            foreach (var kind in new[] { "gateway idle", "gateway half-open upgrade", "backhaul handshake" })
            {
                var s = FloodStats.Sum(kind, flood.Flood);
                double perSecond = (s.Refused + s.ClosedByPeer) / flood.FloodSeconds;
                Line(string.Create(inv, $"| flood: {kind}: open peak / opened / **refused + closed by server per s** / connect timeouts / other errors | | {s.OpenPeak} / {s.Opened} / **{perSecond:F1}/s** ({s.Refused} refused, {s.ClosedByPeer} closed) / {s.Timeouts} / {s.Errors} | refused at the cap |"));
            }
        }

        Line("");
        Line($"Legitimate RTT p99 per second (ms), without flood: {PerSecond(baseline)}");
        Line($"with flood (starts at about {Cell(flood, p => string.Create(inv, $"{p.Load.Timeline.FirstOrDefault(t => t.Connected == p.Load.Sessions)?.Seconds ?? 0:F0}"))} s): {Cell(flood, PerSecond)}");
        Line("");
        Line($"VmHWM at the end (the processes' own peak): gateway {Mib(gatewayHwmKib)}, core-sim {Mib(coreHwmKib)}.");
        if (died)
        {
            Line($"**The gateway exited** (exit code {exitCode?.ToString(inv) ?? "?"}); its last lines are in {Path.Combine(_out, "gateway.log")}.");
        }

        if (flood?.Watch.FirstNotReadyReason is { } reason)
        {
            Line($"First not-ready answer during the flood: `{reason}`.");
        }

        Line("");
        Line($"Each phase's load report: {_out}/baseline/summary.md, {_out}/flood/summary.md; flood logs: {_out}/flood/flood-*.log.");
        Line($"Command: `./build.sh bench attack {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}`");
        return sb.ToString();

        string Cpu(PhaseResult p) => p.Cpu.Seconds <= 0 ? "n/a" : string.Create(inv,
            $"{100 * p.Cpu.Gateway / p.Cpu.Seconds:F0} / {100 * p.Cpu.Core / p.Cpu.Seconds:F0} / {100 * p.Cpu.Bench / p.Cpu.Seconds:F0} / {100 * p.Cpu.Flood / p.Cpu.Seconds:F0}");
        string Gc(PhaseResult p) => string.Create(inv, $"{p.GatewayGc.PauseSeconds * 1000:F0} / {p.GatewayGc.Gen0} / {p.GatewayGc.Gen1} / {p.GatewayGc.Gen2} / {p.GatewayGc.AllocatedMiB:F0}");
        string PerSecond(PhaseResult p) => string.Join(' ', p.Load.Timeline.Where(t => t.P99Ms > 0).Select(t => t.P99Ms.ToString("F0", inv)));
        string Misc(PhaseResult p) => $"{p.Load.Reconnects} / {p.Load.Duplicated} / {p.Load.OutOfOrder}";
        string Rtt(PhaseResult p) => string.Create(inv, $"{p.Load.LatencyMs.P50} / {p.Load.LatencyMs.P99} / {p.Load.LatencyMs.Max}");
        string Exited(PhaseResult p) => p.Watch.GatewayExitedAt is { } at ? string.Create(inv, $"**yes**, {at:F1} s into the phase") : "no";
        string Ready(PhaseResult p) => $"{p.Watch.ReadyOk} / {p.Watch.ReadyNot} / {p.Watch.ReadyNoAnswer}";
        string UnderAttack(PhaseResult p) => p.Watch.AttackPathFound is null
            ? "n/a (no Under Attack mode)"
            : p.Watch.UnderAttackAfter is { } t ? string.Create(inv, $"{t:F1} s ({p.Watch.AttackPathFound})") : $"never ({p.Watch.AttackPathFound} stayed off)";
        string Join(PhaseResult p) => p.RelayJoinSeconds is not { } j
            ? "**not within 60 s**"
            : p.Flood.Count > 0 && JoinAfter.TotalSeconds + j >= p.FloodSeconds - 0.5
                ? string.Create(inv, $"**{j:F1} s** (only once the flood had ended, {p.FloodSeconds:F0} s in)")
                : string.Create(inv, $"{j:F1} s");
        string NewSessions(PhaseResult p) => p.NewSessions is { } n ? string.Create(inv, $"{n.Ok} / {n.Failed}, {n.P50Ms:F0} / {n.MaxMs:F0}") : "n/a";
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static string Mib(long kib) => string.Create(CultureInfo.InvariantCulture, $"{kib / 1024.0:F0} MiB");

    private static string Ratio(double withFlood, double without) =>
        without > 0 ? string.Create(CultureInfo.InvariantCulture, $"**{withFlood / without:F2}×** ({withFlood} / {without} ms)") : "n/a";
}
