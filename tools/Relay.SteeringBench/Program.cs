using System.Diagnostics;
using Relay.CoreSim;
using Relay.Testing.Steering;

// dotnet run -c Release --project tools/Relay.SteeringBench -- [--sessions 3000] [--pace-ms 1000]
// core-sim + three gateway processes + HAProxy on loopback; N Relay.Client sessions through HAProxy,
// each sending one echo message per pace. Measures drain → last session moved, and SIGKILL → 99%
// of the killed relay's sessions resumed elsewhere; then counts lost/duplicated/out-of-order.
int sessions = Arg("--sessions", 3000), paceMs = Arg("--pace-ms", 1000);
if (HaproxyProcess.Executable is null)
{
    Console.Error.WriteLine("steering bench: HAProxy is not installed (apt-get install haproxy)");
    return 2;
}

using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
var token = cts.Token;
const string Key = "D6ONlv7Sq2ZL6sGJSZ0bS0iV0eiQpKlY8x13Kx2gfxs=";
string dir = Directory.CreateTempSubdirectory("relay-steerbench-").FullName;
string publicKey = Path.Combine(dir, "core-public.pem");
await using var core = await CoreSimHost.StartAsync(o =>
{
    o.BindAddress = "127.0.0.1";
    o.HttpPort = 0;
    o.BackhaulPort = 0;
    o.SharedKey = Key;
    o.PublicKeyPath = publicKey;
    o.FleetBroadcastInterval = TimeSpan.FromMilliseconds(200);
}, token);
var gateways = Enumerable.Range(1, 3).Select(i => GatewayProcess.Start($"gw{i}", core.BackhaulPort, publicKey, Key,
    "--Gateway:Health:DrainBatchSize=200", "--Gateway:Health:DrainBatchInterval=00:00:00.1",
    // Every bench user connects from 127.0.0.1 (HAProxy passes that on in its PROXY header): one address, thousands of users.
    "--Gateway:MaxSessionsPerIp=10000", "--Gateway:MaxPreAuthConnectionsPerIp=1000")).ToList();
HaproxyProcess? haproxy = null;
try
{
    foreach (var g in gateways)
    {
        await g.WaitReadyAsync(token);
    }

    haproxy = HaproxyProcess.Start(gateways);
    foreach (var g in gateways)
    {
        await haproxy.WaitForStatusAsync(g.Id, s => s.StartsWith("UP", StringComparison.Ordinal), token);
    }

    var sw = Stopwatch.StartNew();
    await using var load = await ChatLoad.StartAsync(haproxy.WebSocketUri, id => core.Tokens.Issue($"u{id}", "s1", "visitor", TimeSpan.FromHours(1)).Token, sessions, TimeSpan.FromMilliseconds(paceMs), token);
    Console.WriteLine($"{sessions} sessions connected through HAProxy in {sw.Elapsed.TotalSeconds:F1} s; per relay: {string.Join(", ", await Task.WhenAll(gateways.Select(async g => $"{g.Id}={await g.SessionsAsync(token)}")))}");
    await Task.Delay(3000, token);

    // Drain gw1.
    long onGw1 = await gateways[0].SessionsAsync(token);
    sw.Restart();
    var response = await gateways[0].PostAdminAsync("/admin/drain", token);
    Console.WriteLine($"drain gw1: HTTP {(int)response.StatusCode}");
    while (await gateways[0].SessionsAsync(token) > 0 && sw.Elapsed < TimeSpan.FromSeconds(60))
    {
        await Task.Delay(20, token);
    }

    var drainTime = sw.Elapsed;
    long total = 0;
    for (int i = 0; i < 300 && (total = await gateways[1].SessionsAsync(token) + await gateways[2].SessionsAsync(token)) < sessions; i++)
    {
        await Task.Delay(50, token);
    }

    var drainResumed = sw.Elapsed;
    Console.WriteLine($"drain: {onGw1} sessions; last one left gw1 after {drainTime.TotalMilliseconds:F0} ms; all {total} back on gw2+gw3 after {drainResumed.TotalMilliseconds:F0} ms");
    await gateways[0].PostAdminAsync("/admin/undrain", token);
    await Task.Delay(3000, token);

    // SIGKILL gw3.
    long onGw3 = await gateways[2].SessionsAsync(token);
    long target = sessions - onGw3 + (long)Math.Ceiling(onGw3 * 0.99);
    sw.Restart();
    gateways[2].Kill();
    long survivors = 0;
    while (sw.Elapsed < TimeSpan.FromSeconds(60) && (survivors = await gateways[0].SessionsAsync(token) + await gateways[1].SessionsAsync(token)) < target)
    {
        await Task.Delay(20, token);
    }

    var killTime = sw.Elapsed;
    Console.WriteLine($"SIGKILL gw3 with {onGw3} sessions: 99% resumed on gw1+gw2 after {killTime.TotalMilliseconds:F0} ms ({survivors} sessions there)");
    await Task.Delay(3000, token);

    var result = await load.StopAsync(TimeSpan.FromSeconds(30));
    Console.WriteLine($"messages: sent {result.Sent}, lost {result.Lost}, duplicated {result.Duplicated}, out of order {result.OutOfOrder}");
    Console.WriteLine();
    Console.WriteLine("| figure | sessions | time |");
    Console.WriteLine("|---|---:|---:|");
    Console.WriteLine($"| drain → last session moved off the relay | {onGw1} | {drainTime.TotalMilliseconds:F0} ms |");
    Console.WriteLine($"| drain → every session resumed on the others | {onGw1} | {drainResumed.TotalMilliseconds:F0} ms |");
    Console.WriteLine($"| SIGKILL → 99% of its sessions resumed | {onGw3} | {killTime.TotalMilliseconds:F0} ms |");
    Console.WriteLine($"| messages lost / duplicated / out of order | {sessions} | {result.Lost} / {result.Duplicated} / {result.OutOfOrder} |");
    return result.Lost + result.Duplicated + result.OutOfOrder == 0 ? 0 : 1;
}
finally
{
    if (haproxy is not null)
    {
        await haproxy.DisposeAsync();
    }

    foreach (var g in gateways)
    {
        await g.DisposeAsync();
    }

    Directory.Delete(dir, recursive: true);
}

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
}
