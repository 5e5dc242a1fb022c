using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Relay.Contracts.Tokens;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;
using Relay.WanBench;

// Issue 5, "the seed's claim, measured": a far user direct to core-sim over wss vs the same user near a relay,
// both crossing one emulated WAN (WireGuard tunnel through a userspace delay line: 125 ms each way, 1 % loss each way).
var o = BenchOptions.Parse(args);
if (o is null)
{
    return 1;
}

if ((NetnsLab.CheckPrerequisites() ?? Repo.MissingBuild()) is { } missing)
{
    Console.Error.WriteLine($"wanbench: {missing}");
    return 2;
}

using var stop = new CancellationTokenSource(o.RunLimit);
var lab = new NetnsLab();
UdpDelayLine? line = null;
TcpDelayProxy? proxy = null;
void Cleanup()
{
    proxy?.Dispose();
    line?.Dispose();
    lab.Dispose();
}

// Ctrl-C / SIGTERM: stop the run; the finally below (or ProcessExit as a last resort: the lab registers for it) removes everything.
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Console.Error.WriteLine("wanbench: interrupted, cleaning up"); stop.Cancel(); });
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

string dir = Directory.CreateTempSubdirectory("relay-wanbench-").FullName;
var token = stop.Token;
try
{
    int n = lab.Octet;
    string id = lab.Id;
    string underlay = $"10.223.{n}", tunnel = $"10.224.{n}", edgeNet = $"10.225.{n}";
    Log($"lab {id}: namespaces rly-{id}-core / rly-{id}-edge, logs in {dir}");

    string core = lab.Namespace("core");
    string edge = lab.Namespace("edge");
    lab.Veth(null, $"rk{id}", $"{underlay}.254/24", core, $"vc{id}", $"{underlay}.1/24");
    lab.Veth(null, $"rc{id}", $"{edgeNet}.1/24", edge, $"re{id}", $"{edgeNet}.2/24");
    foreach (string ns in new[] { core, edge })
    {
        NetnsLab.Exec(ns, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0");
    }

    // The far user's packets: root (source tunnel.3) → edge (forwards) → WireGuard → core. Same tunnel, same WAN.
    NetnsLab.Exec(edge, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    NetnsLab.Ip(null, "address", "add", $"{tunnel}.3/32", "dev", $"rc{id}");
    NetnsLab.Ip(null, "route", "add", $"{tunnel}.1/32", "via", $"{edgeNet}.2", "dev", $"rc{id}", "src", $"{tunnel}.3", "mtu", "1420");
    NetnsLab.Ip(edge, "route", "add", $"{tunnel}.3/32", "via", $"{edgeNet}.1", "dev", $"re{id}");

    // The WAN: the tunnel's UDP, edge → root → core, through the delay line. No loss while warming up.
    line = new UdpDelayLine(new IPEndPoint(IPAddress.Parse($"{edgeNet}.1"), 0), new IPEndPoint(IPAddress.Parse($"{underlay}.1"), 51820))
    {
        Delay = TimeSpan.FromMilliseconds(o.WanOneWayMs),
    };

    var coreKeys = WireGuardKeyPair.Generate();
    var edgeKeys = WireGuardKeyPair.Generate();
    string coreConf = Path.Combine(dir, "core.conf"), edgeConf = Path.Combine(dir, "edge.conf");
    WgQuickConfig.Save(coreConf, new WireGuardConfig(
        new InterfaceConfig(coreKeys.PrivateKey, [Cidr($"{tunnel}.1/24")], 51820),
        [new PeerConfig(edgeKeys.PublicKey, [Cidr($"{tunnel}.2/32"), Cidr($"{tunnel}.3/32")], null, null, 5)]));
    WgQuickConfig.Save(edgeConf, new WireGuardConfig(
        new InterfaceConfig(edgeKeys.PrivateKey, [Cidr($"{tunnel}.2/24")]),
        [new PeerConfig(coreKeys.PublicKey, [Cidr($"{tunnel}.1/32")], line.Front.ToString(), null, 5)]));

    // One self-signed certificate for both wss servers; the client pins it.
    string certPath = Path.Combine(dir, "tls.pem"), keyPath = Path.Combine(dir, "tls.key");
    using var certificate = WriteCertificate(certPath, keyPath, [IPAddress.Parse($"{tunnel}.1"), IPAddress.Loopback, IPAddress.Parse($"{edgeNet}.2")]);
    string signing = Path.Combine(dir, "signing.pem"), publicKey = Path.Combine(dir, "core-public.pem");
    using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
    {
        File.WriteAllText(signing, ec.ExportPkcs8PrivateKeyPem());
    }

    using var tokens = new TokenIssuer(signing);
    File.WriteAllText(publicKey, tokens.PublicKeyPem);
    string sharedKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)); // the edge's own key, in core-sim's keyring

    string coreLog = Path.Combine(dir, "core-sim.log"), gatewayLog = Path.Combine(dir, "gateway.log");
    var coreProcess = lab.Start(core, "core-sim", coreLog, RelayProcesses.CoreSim([
        $"--CoreSim:BindAddress={tunnel}.1", "--CoreSim:HttpPort=7080", "--CoreSim:HttpsPort=7443", "--CoreSim:BackhaulPort=7000",
        $"--CoreSim:RelayKeys:wanbench-edge={sharedKey}", $"--CoreSim:AdminKey={Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24))}", $"--CoreSim:SigningKeyPath={signing}",
        $"--CoreSim:CertificatePath={certPath}", $"--CoreSim:CertificateKeyPath={keyPath}",
        "--CoreSim:WireGuard:Mode=Managed", $"--CoreSim:WireGuard:Interface=wgc{id}", $"--CoreSim:WireGuard:ConfigPath={coreConf}",
        "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
        .. (o.DuplicateUpTo is { } coreDup ? new[] { $"--CoreSim:BackhaulDuplicateFramesUpTo={coreDup}" } : [])]));
    await coreProcess.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(60), token);
    var gatewayProcess = lab.Start(edge, "gateway", gatewayLog, RelayProcesses.Gateway([
        "--Gateway:BindAddress=0.0.0.0", "--Gateway:HttpPort=8080", "--Gateway:HttpsPort=8443", $"--Gateway:PublicKeyPath={publicKey}",
        $"--Gateway:CertificatePath={certPath}", $"--Gateway:CertificateKeyPath={keyPath}",
        $"--Gateway:Backhaul:Endpoints:0={tunnel}.1:7000", $"--Gateway:Backhaul:SharedKey={sharedKey}",
        "--Gateway:Backhaul:RelayId=wanbench-edge", "--Gateway:Backhaul:Region=edge", "--Gateway:MaxSessionsPerIp=1000", "--Gateway:MaxPreAuthConnectionsPerIp=1000", "--Gateway:TlsHandshakesPerSecondPerAddress=0",
        "--Gateway:WireGuard:Mode=Managed", $"--Gateway:WireGuard:Interface=wge{id}", $"--Gateway:WireGuard:ConfigPath={edgeConf}",
        "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
        $"--Gateway:EdgeWelcome={(o.EdgeWelcome ? "true" : "false")}",
        .. (o.DuplicateUpTo is { } gatewayDup ? new[] { $"--Gateway:Backhaul:DuplicateFramesUpTo={gatewayDup}" } : []),
        .. (o.Links is { } links ? new[] { $"--Gateway:Backhaul:LinksPerEndpoint={links}" } : [])]));
    await gatewayProcess.WaitForHttpAsync(new Uri($"http://{edgeNet}.2:8080/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(90), token);
    Log("gateway ready: backhaul links up through the tunnel");

    proxy = new TcpDelayProxy(new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.Parse($"{edgeNet}.2"), 8443), TimeSpan.FromMilliseconds(o.NearOneWayMs));
    int tokenCounter = 0;
    Uri Url(BenchPath path)
    {
        string t = tokens.Issue($"{path.Name}-{Interlocked.Increment(ref tokenCounter)}", "wanbench", "visitor", TimeSpan.FromHours(1)).Token;
        return path.Direct
            ? new Uri($"wss://{tunnel}.1:7443/ws?access_token={t}")
            : new Uri($"wss://127.0.0.1:{proxy.Endpoint.Port}/ws?access_token={t}");
    }

    var direct = new BenchPath("direct", Direct: true);
    var relay = new BenchPath("relay", Direct: false);
    var bench = new Bench(o, certificate, Url);

    // Warm-up (not counted): JIT in the client and both servers, the gateway's first streams. Then the loss goes on.
    await bench.WarmUpAsync(direct, token);
    await bench.WarmUpAsync(relay, token);
    line.Loss = o.Loss;
    string loadAtStart = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
    long forwarded0 = line.Forwarded, dropped0 = line.Dropped;
    Log($"WAN on: {o.WanOneWayMs} ms each way, {o.Loss:P1} loss each way; near link {o.NearOneWayMs} ms each way");

    if (o.HttpSamples > 0)
    {
        // Issue 18's HTTP mode: direct to core-sim's HTTPS port vs through the relay's TLS port (edge HTTP over the backhaul).
        string thumbprint = certificate.GetCertHashString();
        var directHttp = await HttpProbe.RunAsync(new Uri($"https://{tunnel}.1:7443/"), thumbprint, o.HttpSamples, token);
        var relayHttp = await HttpProbe.RunAsync(new Uri($"https://127.0.0.1:{proxy.Endpoint.Port}/"), thumbprint, o.HttpSamples, token);
        string httpTable = HttpProbe.Markdown(o, [("direct to core-sim", directHttp.First, directHttp.Warm, directHttp.AssetCold, directHttp.AssetWarm, directHttp.Failed), ("through the relay", relayHttp.First, relayHttp.Warm, relayHttp.AssetCold, relayHttp.AssetWarm, relayHttp.Failed)]);
        Console.WriteLine();
        Console.WriteLine(httpTable);
        if (o.Out is not null)
        {
            File.WriteAllText(o.Out, httpTable);
        }

        return 0;
    }

    if (o.RowsTogether)
    {
        await Task.WhenAll(
            bench.ConnectPhaseAsync(direct, pipelined: false, token), bench.ConnectPhaseAsync(relay, pipelined: false, token),
            bench.ConnectPhaseAsync(direct, pipelined: true, token), bench.ConnectPhaseAsync(relay, pipelined: true, token));
    }
    else
    {
        // One row at a time (as the steady phase runs one path at a time): on this 2-core machine the client, both
        // delay lines, wireguard-go, the gateway and core-sim share the cores, and with all four rows at once each row's
        // session starts queued behind the others' TLS handshakes (the relay's waiting client: 325 → 316 ms p50 at 4
        // sessions in flight instead of 12). A user's client, relay and core do not share a CPU.
        foreach (var (path, pipelined) in new[] { (direct, false), (relay, false), (direct, true), (relay, true) })
        {
            await bench.ConnectPhaseAsync(path, pipelined, token);
        }
    }
    DumpSamples(Path.Combine(dir, "connect-samples.csv"), [direct, relay]);
    Log($"connect phase done: direct {direct.Connects.Count} ok / {direct.ConnectFailures} failed, relay {relay.Connects.Count} ok / {relay.ConnectFailures} failed");
    // One path after the other, so the tunnel's UDP bytes during each phase are that path's (the WAN bytes per message).
    foreach (var path in new[] { direct, relay })
    {
        long bytes0 = line.Bytes, packets0 = line.Forwarded;
        await bench.SteadyPhaseAsync(path, token);
        path.WanBytes = line.Bytes - bytes0;
        path.WanPackets = line.Forwarded - packets0;
        Log($"steady phase done: {path.Name}");
    }

    long forwarded = line.Forwarded - forwarded0, dropped = line.Dropped - dropped0;

    string loadAtEnd = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
    string table = Report.Markdown(o, [direct, relay], forwarded, dropped)
        + $"What the emulated links added beyond their nominal delay (whole run): WAN delay line {line.Lateness}; near link (relay path only) {proxy.Lateness}.\n"
        + $"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; /proc/loadavg at the start of the measurement {loadAtStart}, at the end {loadAtEnd}.\n";
    Console.WriteLine();
    Console.WriteLine(table);
    if (o.Out is not null)
    {
        File.WriteAllText(o.Out, table);
    }

    bool gatewayAlive = !gatewayProcess.HasExited, coreAlive = !coreProcess.HasExited;
    if (!gatewayAlive || !coreAlive)
    {
        Console.Error.WriteLine("wanbench: a server exited during the run; see the logs in " + dir);
        return 1;
    }

    return 0;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine($"wanbench: stopped (interrupted or over the {o.RunLimit.TotalMinutes:0} min limit); logs in {dir}");
    return 130;
}
catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
{
    Console.Error.WriteLine($"wanbench: {e.Message}\n  logs in {dir}");
    if (Environment.GetEnvironmentVariable("WANBENCH_DEBUG") == "1")
    {
        Console.Error.WriteLine(e);
    }
    return 1;
}
finally
{
    Cleanup();
    Log("cleaned up: processes stopped, namespaces and links removed");
}

static void DumpSamples(string path, BenchPath[] paths)
{
    var lines = new List<string> { "path,pipelined,open_ms,welcome_ms,first_echo_ms" };
    foreach (var p in paths)
    {
        lines.AddRange(p.Connects.Select(c => string.Create(CultureInfo.InvariantCulture, $"{p.Name},0,{c.Open:0.0},{c.Welcome:0.0},{c.FirstEcho:0.0}")));
        lines.AddRange(p.PipelinedConnects.Select(c => string.Create(CultureInfo.InvariantCulture, $"{p.Name},1,{c.Open:0.0},{c.Welcome:0.0},{c.FirstEcho:0.0}")));
    }

    File.WriteAllLines(path, lines);
}

static void Log(string text) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {text}");

static IpCidr Cidr(string text) => IpCidr.TryParse(text, out var c) ? c! : throw new FormatException(text);

static X509Certificate2 WriteCertificate(string certPath, string keyPath, IPAddress[] addresses)
{
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var request = new CertificateRequest("CN=relay-wanbench", key, HashAlgorithmName.SHA256);
    var san = new SubjectAlternativeNameBuilder();
    san.AddDnsName("localhost");
    foreach (var a in addresses)
    {
        san.AddIpAddress(a);
    }

    request.CertificateExtensions.Add(san.Build());
    var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    File.WriteAllText(certPath, cert.ExportCertificatePem());
    File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
    if (!OperatingSystem.IsWindows())
    {
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
    return cert;
}
