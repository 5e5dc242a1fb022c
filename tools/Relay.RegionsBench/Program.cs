using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Relay.RegionsBench;
using Relay.Testing.Regions;

// Issue 17's figures in the regions lab: for users in each region, session start and message RTT direct to the eu
// core vs through their region's relay (a fixed URL list, and steered by the core's negotiate with the SDK's race);
// region loss (both sg gateways SIGKILLed, with the fixed list and with negotiate; their WAN cut): time until the DNS
// answers change (PowerDNS in the lab, dig from the sg users' namespace) and until 99 % resumed; drain of one sg relay.
var o = BenchOptions.Parse(args);
if (o is null)
{
    return 1;
}

if (RegionsLab.CheckPrerequisites() is { } missing)
{
    Console.Error.WriteLine($"regionsbench: {missing}");
    return 2;
}

using var stop = new CancellationTokenSource(o.RunLimit);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Console.Error.WriteLine("regionsbench: interrupted, cleaning up"); stop.Cancel(); });
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
var token = stop.Token;
string loadAtStart = LoadAverage();
var options = new RegionsLabOptions();
await using var lab = await RegionsLab.StartAsync(options, Log, token);
if (o.Loss > 0)
{
    foreach (var spec in options.Regions)
    {
        lab.Wan.SetLoss(spec.Name, o.Loss);
    }
}

// PowerDNS in the lab (a namespace in eu), when installed: the DNS column of the region loss and the drain.
string? dnsMissing = PdnsProcess.Missing();
if (dnsMissing is null)
{
    await lab.StartDnsAsync(token);
    Log($"PowerDNS on {lab.DnsAddress}:{RegionsLab.DnsPort} in its own namespace (checks every relay's /readyz across the WAN every 1 s)");
}
else
{
    Log($"no PowerDNS: {dnsMissing}");
}

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"### Regions lab: session start and message RTT per region ({o.Sessions} sessions per path, {o.Rate} msg/s each, {o.Seconds} s; WAN loss {o.Loss:P1} each way)");
report.AppendLine();
report.AppendLine("| users in | path | WAN RTT to eu (ms) | session start p50 / p99 (ms) | message RTT p50 / p99 (ms) | messages | lost |");
report.AppendLine("|---|---|---|---|---|---|---|");
foreach (var region in lab.Regions.Where(r => r.Name != options.CoreRegion))
{
    var relayUrls = region.Relays.Select(r => r.Url).ToArray();
    using var direct = lab.StartUsers(region.Name, o.Sessions, o.Rate, urls: [lab.CoreUrl], own: 1, name: $"{region.Name}-direct");
    using var relayed = lab.StartUsers(region.Name, o.Sessions, o.Rate, urls: relayUrls, own: relayUrls.Length, name: $"{region.Name}-relay", firstId: 10_000);
    await lab.WaitNegotiateListsRegionAsync(region.Name, TimeSpan.FromSeconds(30), token);
    using var steered = lab.StartUsers(region.Name, o.Sessions, o.Rate, name: $"{region.Name}-negotiate", firstId: 50_000, negotiateUrl: lab.CoreNegotiateUrl);
    await Task.WhenAll(direct.WaitReadyAsync(TimeSpan.FromSeconds(120), token), relayed.WaitReadyAsync(TimeSpan.FromSeconds(120), token), steered.WaitReadyAsync(TimeSpan.FromSeconds(120), token));
    direct.ResetRoundTrips();
    relayed.ResetRoundTrips();
    steered.ResetRoundTrips();
    var steeredTo = steered.Latest.Values.GroupBy(w => RelayId(w.Url)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}").ToArray();
    await Task.Delay(TimeSpan.FromSeconds(o.Seconds), token);
    var d = await direct.StopAsync(TimeSpan.FromSeconds(90), token);
    var r = await relayed.StopAsync(TimeSpan.FromSeconds(90), token);
    var n = await steered.StopAsync(TimeSpan.FromSeconds(90), token);
    double wan = lab.Wan.Rtt(region.Name, options.CoreRegion).TotalMilliseconds;
    report.AppendLine(Row(region.Name, "direct to eu core", wan, d));
    report.AppendLine(Row(region.Name, $"via {string.Join(" + ", region.Relays.Select(x => x.Id))} (fixed URLs)", wan, r));
    report.AppendLine(Row(region.Name, $"steered: core's negotiate, then the race ({string.Join(", ", steeredTo)})", wan, n));
    Log($"{region.Name}: direct {d.ConnectP50}/{d.RttP50} ms, relay {r.ConnectP50}/{r.RttP50} ms, negotiate {n.ConnectP50}/{n.RttP50} ms (start/RTT p50)");
}

// Drain of one relay of the two-relay region: its users move to the other and stay in the region.
var sg = lab.Regions.First(r => r.Relays.Count >= 2);
var drained = sg.Relays[0];
var other = sg.Relays[1];
Drain drain;
using (var users = lab.StartUsers(sg.Name, o.FailoverSessions, o.Rate, name: $"{sg.Name}-drain", firstId: 20_000))
{
    await users.WaitReadyAsync(TimeSpan.FromSeconds(120), token);
    await Task.Delay(2000, token);
    long onDrained = await drained.SessionsAsync(token);
    await DnsAnswersAsync(sg.Name, lab.RelayAddresses(sg.Name), token);
    long drainAt = Stopwatch.GetTimestamp();
    var dnsDrain = DnsChangeAsync(sg.Name, [other.Address], drainAt, token);
    bool accepted = await Until(() => drained.DrainAsync(token), TimeSpan.FromSeconds(20), token);
    bool empty = await Until(async () => await drained.SessionsAsync(token) == 0, TimeSpan.FromSeconds(60), token);
    double emptyAfter = Stopwatch.GetElapsedTime(drainAt).TotalSeconds;
    string otherUrl = other.Url.ToString(), drainedUrl = drained.Url.ToString();
    await users.WaitUntilAllAsync(w => w.Url != drainedUrl, TimeSpan.FromSeconds(30), token);
    await Task.Delay(2000, token);
    var latest = users.Latest.Values.ToArray();
    var inRegion = sg.Relays.Select(x => x.Url.ToString()).ToHashSet();
    var result = await users.StopAsync(TimeSpan.FromSeconds(90), token);
    drain = new Drain(accepted && empty, onDrained, latest.Count(w => w.Url == otherUrl && w.Timestamp > drainAt), latest.Count(w => !inRegion.Contains(w.Url)), emptyAfter, result, await dnsDrain);
    await drained.DrainAsync(token, undrain: true);
    await Until(() => drained.ReadyAsync(token), TimeSpan.FromSeconds(30), token);
    Log($"drain of {drained.Id}: {drain.Moved} moved to {other.Id}, {drain.LeftRegion} left {sg.Name}, empty after {emptyAfter:F1} s");
}

// Region loss: SIGKILL every gateway of the region; its users resume in the next region: with the fixed URL list, then
// with negotiate and the race. Then the region's WAN cut (no close, no reset), with negotiate; each bounded.
var fallbackRelays = lab.RelayAddresses(sg.Fallback[0]);
var loss = await RegionLossAsync("fixed", negotiate: false, cut: false, 30_000);
await Task.WhenAll(sg.Relays.Select(x => lab.RestartRelayAsync(x.Id, token)));
var lossNegotiate = await RegionLossAsync("negotiate", negotiate: true, cut: false, 60_000);
await Task.WhenAll(sg.Relays.Select(x => lab.RestartRelayAsync(x.Id, token)));
var cut = await RegionLossAsync("cut", negotiate: true, cut: true, 40_000);

string loadAtEnd = LoadAverage();
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"### Region loss: {sg.Name}'s gateways SIGKILLed, or cut off the WAN ({o.FailoverSessions} {sg.Name} sessions chatting; fixed URL list: own region, then {string.Join(", ", sg.Fallback)}; negotiate: the core's /v1/negotiate, the SDK's race after 250 ms)");
report.AppendLine();
report.AppendLine("| how | users steered by | time until DNS answers change | 99% of the sessions resumed elsewhere | p50 resume | resumed (of the sessions on sg at the kill) | where (at the end) | messages sent | lost (not delivered by the end) | duplicated | out of order |");
report.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
report.AppendLine(LossRow("SIGKILL both gateways", "fixed URL list", loss, 60, dnsMissing));
report.AppendLine(LossRow("SIGKILL both gateways", "negotiate + race", lossNegotiate, 60, dnsMissing));
report.AppendLine(LossRow("cut their WAN (packets dropped, no reset)", "negotiate + race", cut, o.CutWaitSeconds, dnsMissing));
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"### Drain of {drained.Id} in the two-relay region {sg.Name} ({o.FailoverSessions} sessions over {string.Join(" and ", sg.Relays.Select(x => x.Id))})");
report.AppendLine();
report.AppendLine("| sessions on the drained relay | moved to the other relay in the region | left the region | drained relay empty after | DNS answers without it after | messages sent | lost | duplicated | out of order |");
report.AppendLine("|---|---|---|---|---|---|---|---|---|");
report.AppendLine(CultureInfo.InvariantCulture,
    $"| {drain.OnDrained} | {drain.Moved} ({other.Id}) | {drain.LeftRegion} | {(drain.Completed ? $"{drain.EmptyAfterSeconds:F1} s" : "not within 60 s")} | {DnsCell(drain.DnsSeconds, dnsMissing)} | {drain.Result.Sent:N0} | {drain.Result.Lost} | {drain.Result.Duplicated} | {drain.Result.OutOfOrder} |");
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"WAN (round trips): user ↔ own region's relay {options.NearRtt.TotalMilliseconds:F0} ms; relay (and user) ↔ eu: {string.Join(", ", options.Regions.Select(r => $"{r.Name} {r.RttToCore.TotalMilliseconds:F0} ms"))}; between regions: {string.Join(", ", options.RegionRtt.Select(p => $"{p.Key.Item1}–{p.Key.Item2} {p.Value.TotalMilliseconds:F0} ms"))}. Backhaul inside WireGuard (wireguard-go). Session start: connect until the welcome (the hello crosses to the core). Message RTT: send until the echo, after the sessions are up.");
report.AppendLine(dnsMissing is null
    ? $"DNS: PowerDNS {PdnsVersion()} in a namespace in eu, zone from relay-regions (LUA record, `ifurlextup` on each relay's /readyz every 1 s, timeout 2 s, TTL 5 s); the time is from the kill (or drain, or cut) until `dig` from the {sg.Name} users' namespace (asked every 100 ms; each query crosses the WAN to eu) answers {sg.Fallback[0]}'s relays (the drain: only {other.Id})."
    : $"DNS: n/a, PowerDNS is not installed ({dnsMissing}).");
report.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; /proc/loadavg at the start {loadAtStart}, at the end {loadAtEnd}.");
Console.WriteLine();
Console.WriteLine(report);
if (o.Out is not null)
{
    File.WriteAllText(o.Out, report.ToString());
}

return 0;

// One region loss: sg users (fixed list or negotiate) chatting; the region killed or cut; the resumes and the DNS answers timed.
async Task<Loss> RegionLossAsync(string label, bool negotiate, bool cut, int firstId)
{
    await lab.WaitNegotiateListsRegionAsync(sg.Name, TimeSpan.FromSeconds(30), token);
    using var users = lab.StartUsers(sg.Name, o.FailoverSessions, o.Rate, name: $"{sg.Name}-{label}", firstId: firstId, negotiateUrl: negotiate ? lab.CoreNegotiateUrl : null);
    await users.WaitReadyAsync(TimeSpan.FromSeconds(120), token);
    await DnsAnswersAsync(sg.Name, lab.RelayAddresses(sg.Name), token);
    await Task.Delay(3000, token);
    var sgUrls = sg.Relays.Select(x => x.Url.ToString()).ToHashSet();

    // The region's sessions: the users on an sg relay at the kill (a race may have started a few elsewhere).
    var inRegion = users.Latest.Values.Where(w => sgUrls.Contains(w.Url)).Select(w => w.User).ToHashSet();
    int wait = cut ? o.CutWaitSeconds : 60;
    long at;
    if (cut)
    {
        at = Stopwatch.GetTimestamp();
        lab.CutRegion(sg.Name);
    }
    else
    {
        at = lab.KillRegion(sg.Name);
        Log($"killed {string.Join(", ", sg.Relays.Select(x => x.Id))} in {Stopwatch.GetElapsedTime(at).TotalMilliseconds:F0} ms");
    }

    var dns = DnsChangeAsync(sg.Name, fallbackRelays, at, token);
    await users.WaitUntilAllAsync(w => !inRegion.Contains(w.User) || (w.Timestamp > at && !sgUrls.Contains(w.Url)), TimeSpan.FromSeconds(wait), token);
    if (!cut)
    {
        await Task.Delay(2000, token);
    }

    var resumeSeconds = users.Welcomes.Where(w => inRegion.Contains(w.User) && w.Timestamp > at && !sgUrls.Contains(w.Url)).GroupBy(w => w.User)
        .Select(g => (g.Min(w => w.Timestamp) - at) / (double)Stopwatch.Frequency).Order().ToArray();
    var where = users.Latest.Values.GroupBy(w => RelayId(w.Url)).ToDictionary(g => g.Key, g => g.Count());
    var result = await users.StopAsync(TimeSpan.FromSeconds(90), token);
    double? dnsSeconds = await dns;
    if (cut)
    {
        lab.CutRegion(sg.Name, cut: false);
    }

    Log($"{(cut ? "cut" : "loss")} of {sg.Name} ({label}): {resumeSeconds.Length} of {inRegion.Count} resumed elsewhere, first after {resumeSeconds.FirstOrDefault():F2} s, last after {resumeSeconds.LastOrDefault():F2} s; DNS changed after {dnsSeconds?.ToString("F2", CultureInfo.InvariantCulture) ?? "-"} s");
    return new Loss(inRegion.Count, resumeSeconds, where, result, dnsSeconds);
}

// Waits (at most 30 s) until dig from the region's users answers exactly these addresses (e.g. after a restart).
async Task DnsAnswersAsync(string region, IReadOnlyList<string> expected, CancellationToken ct)
{
    if (dnsMissing is null && await DnsChangeAsync(region, expected, Stopwatch.GetTimestamp(), ct) is null)
    {
        Log($"dig from {region}: not {string.Join(" ", expected)} within 30 s");
    }
}

// Seconds from `since` until dig from the region's users first answers exactly these addresses (asked every 100 ms,
// at most 30 s; the time the answer arrived); null without PowerDNS or when it did not within 30 s.
async Task<double?> DnsChangeAsync(string region, IReadOnlyList<string> expected, long since, CancellationToken ct)
{
    if (dnsMissing is not null)
    {
        return null;
    }

    long until = since + 30 * Stopwatch.Frequency;
    while (Stopwatch.GetTimestamp() < until)
    {
        try
        {
            if ((await lab.DigAsync(region, ct)).SequenceEqual(expected))
            {
                return Stopwatch.GetElapsedTime(since).TotalSeconds;
            }
        }
        catch (IOException)
        {
            // no answer this time (dig's own 2 s limit): ask again
        }

        await Task.Delay(100, ct);
    }

    return null;
}

string RelayId(string url) => lab.Relays.FirstOrDefault(x => x.Url.ToString() == url)?.Id ?? url;

static string DnsCell(double? seconds, string? dnsMissing) =>
    dnsMissing is not null ? "n/a (no PowerDNS)" : seconds is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s:F2} s") : "not within 30 s";

static string PdnsVersion()
{
    string? version = Relay.Testing.Processes.ProcessRunner.TryRun("dpkg-query", "-W", "-f=${Version}", "pdns-server");
    return string.IsNullOrWhiteSpace(version) ? "" : version.Trim();
}

static string LossRow(string how, string steering, Loss loss, int waitSeconds, string? dnsMissing) => string.Create(CultureInfo.InvariantCulture,
    $"| {how} | {steering} | {DnsCell(loss.DnsSeconds, dnsMissing)} | {Seconds(Percentile(loss.ResumeSeconds, 0.99, loss.Sessions), waitSeconds)} | {Seconds(Percentile(loss.ResumeSeconds, 0.50, loss.Sessions), waitSeconds)} | {loss.ResumeSeconds.Length} of {loss.Sessions} | {string.Join(", ", loss.Where.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}: {p.Value}"))} | {loss.Result.Sent:N0} | {loss.Result.Lost} | {loss.Result.Duplicated} | {loss.Result.OutOfOrder} |");

static string Row(string region, string path, double wan, UsersResult r) => string.Create(CultureInfo.InvariantCulture,
    $"| {region} | {path} | {wan:F0} | {r.ConnectP50:F0} / {r.ConnectP99:F0} | {r.RttP50:F0} / {r.RttP99:F0} | {r.Sent:N0} | {r.Lost} |");

static double? Percentile(double[] sorted, double p, int population)
{
    // Over the whole population: a session that never resumed counts as "never".
    int rank = Math.Max(1, (int)Math.Ceiling(p * population));
    return rank <= sorted.Length ? sorted[rank - 1] : null;
}

static string Seconds(double? s, int waitSeconds) => s is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v:F2} s") : $"not within {waitSeconds} s";

static async Task<bool> Until(Func<Task<bool>> condition, TimeSpan limit, CancellationToken token)
{
    long until = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
    while (Stopwatch.GetTimestamp() < until)
    {
        if (await condition())
        {
            return true;
        }

        await Task.Delay(100, token);
    }

    return false;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";

static void Log(string line) => Console.Error.WriteLine($"regionsbench {DateTime.UtcNow:HH:mm:ss} {line}");

namespace Relay.RegionsBench
{
    internal sealed record Drain(bool Completed, long OnDrained, int Moved, int LeftRegion, double EmptyAfterSeconds, UsersResult Result, double? DnsSeconds);

    internal sealed record Loss(int Sessions, double[] ResumeSeconds, IReadOnlyDictionary<string, int> Where, UsersResult Result, double? DnsSeconds);

    /// <summary>Command-line options; every loop of the run is bounded by these and by <see cref="RunLimit"/>.</summary>
    internal sealed class BenchOptions
    {
        public const string Usage = """
            usage: ./build.sh bench regions [options]   (as root; needs wireguard-go, iproute2, /dev/net/tun)
              --sessions N            sessions per path per region for start and RTT (20)
              --rate R                messages per second per session (5)
              --seconds S             RTT measurement per region (10)
              --failover-sessions N   sg sessions for the drain, each region loss and the cut (100)
              --loss F                WAN loss each way for every region, 0-0.2 (0)
              --cut-wait S            how long to wait for resumes after the region's WAN is cut (30)
              --out FILE              also write the Markdown tables there
            """;

        public int Sessions { get; private set; } = 20;

        public double Rate { get; private set; } = 5;

        public int Seconds { get; private set; } = 10;

        public int FailoverSessions { get; private set; } = 100;

        public double Loss { get; private set; }

        public int CutWaitSeconds { get; private set; } = 30;

        public string? Out { get; private set; }

        public TimeSpan RunLimit { get; } = TimeSpan.FromMinutes(15);

        public static BenchOptions? Parse(string[] args)
        {
            var o = new BenchOptions();
            for (int i = 0; i < args.Length; i++)
            {
                string? v = i + 1 < args.Length ? args[i + 1] : null;
                bool ok = true;
                switch (args[i])
                {
                    case "--sessions": ok = TryInt(v, 1, 1000, out int s); o.Sessions = s; i++; break;
                    case "--rate": ok = TryDouble(v, 0.1, 50, out double r); o.Rate = r; i++; break;
                    case "--seconds": ok = TryInt(v, 1, 300, out int sec); o.Seconds = sec; i++; break;
                    case "--failover-sessions": ok = TryInt(v, 1, 2000, out int f); o.FailoverSessions = f; i++; break;
                    case "--loss": ok = TryDouble(v, 0, 0.2, out double l); o.Loss = l; i++; break;
                    case "--cut-wait": ok = TryInt(v, 1, 300, out int cw); o.CutWaitSeconds = cw; i++; break;
                    case "--out": ok = v is not null; o.Out = v; i++; break;
                    case "-h" or "--help": Console.WriteLine(Usage); return null;
                    default: ok = false; break;
                }

                if (!ok)
                {
                    Console.Error.WriteLine($"regionsbench: bad option {args[i]} {v}\n{Usage}");
                    return null;
                }
            }

            return o;
        }

        private static bool TryInt(string? v, int min, int max, out int value) =>
            int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

        private static bool TryDouble(string? v, double min, double max, out double value) =>
            double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
    }
}
