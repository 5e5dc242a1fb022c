using Relay.Testing;
using System.Net;
using System.Security.Cryptography;
using Relay.Client;
using Relay.Contracts.Tokens;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Tests.EndToEnd;

/// <summary>
/// core-sim in a "core" namespace and a gateway in an "edge" namespace, each managing its end of a WireGuard
/// tunnel (wireguard-go). The tunnel's UDP runs edge → root → core over two veth pairs through a userspace
/// delay line (60 ms each way; this kernel has no sch_netem). A Relay.Client in the test process reaches the
/// gateway over the root ↔ edge veth. Chat goes client → gateway → tunnel → core-sim and back.
/// </summary>
[NonParallelizable]
public class TunnelEndToEndTests
{

    [Test]
    [CancelAfter(180_000)]
    public async Task Chat_ThroughManagedTunnel_SurvivesTunnelBreak_NothingLost(CancellationToken token)
    {
        if ((NetnsLab.CheckPrerequisites() ?? Repo.MissingBuild()) is { } missing)
        {
            Assert.Ignore(missing);
        }

        using var lab = new NetnsLab();
        using var topo = await Topology.StartAsync(lab, TimeSpan.FromMilliseconds(60), token);

        // Ready through the tunnel.
        await topo.WaitForAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(60), token);
        string tunnelBody = await topo.WaitForAsync("/tunnel", HttpStatusCode.OK, TimeSpan.FromSeconds(10), token, "\"level\":\"healthy\"");
        Assert.That(tunnelBody, Does.Contain("\"level\":\"healthy\"").And.Contain($"10.215.{lab.Octet}.1:"));

        await using var client = topo.Client();
        await client.ConnectAsync(token);
        var received = new List<string>();
        var allIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            await foreach (var m in client.ReadAllAsync(token))
            {
                lock (received)
                {
                    received.Add(m.Body);
                    if (received.Count == 30)
                    {
                        allIn.TrySetResult();
                    }
                }
            }
        }, token);
        for (int i = 0; i < 10; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token);
        }

        await WaitUntilAsync(() => { lock (received) { return received.Count >= 10; } }, TimeSpan.FromSeconds(20), token);

        // Break the tunnel: drop all of its UDP.
        topo.Line.Loss = 1.0;
        for (int i = 10; i < 20; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token);
        }

        // The tunnel is blamed after Gateway:WireGuard:NoTrafficTimeout (5 s) of silence while sending; /readyz names it.
        string tunnelReason = await topo.WaitForAsync("/tunnel", HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(60), token);
        Assert.That(tunnelReason, Does.Contain($"tunnel wge{lab.Id}: nothing received"));
        string ready = await topo.WaitForAsync("/readyz", HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), token, $"tunnel wge{lab.Id}");
        var (_, status) = await topo.GetAsync("/status", token);
        TestContext.Out.WriteLine($"while broken: /readyz 503 \"{ready.Trim()}\"; /tunnel 503 {tunnelReason}; /status {status}");
        Assert.That(status, Does.Contain($"tunnel wge{lab.Id}"), "the health monitor folds the tunnel signal into /status");

        // Restore: the tunnel is seen healthy again without a restart, links come back, nothing lost.
        topo.Line.Loss = 0;
        await topo.WaitForAsync("/tunnel", HttpStatusCode.OK, TimeSpan.FromSeconds(60), token, "\"level\":\"healthy\"");
        await topo.WaitForAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(60), token);
        for (int i = 20; i < 30; i++)
        {
            await client.SendAsync($"m{i}", cancellationToken: token);
        }

        await allIn.Task.WaitAsync(TimeSpan.FromSeconds(60), token);
        lock (received)
        {
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, 30).Select(i => $"m{i}")), "every echo exactly once, in order, across the tunnel break");
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan limit, CancellationToken token)
    {
        var until = DateTime.UtcNow + limit;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(until), "timed out");
            await Task.Delay(100, token);
        }
    }
}

/// <summary>The namespaces, tunnel configs and the two processes.</summary>
internal sealed class Topology : IDisposable
{
    private readonly NetnsLab _lab;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly TokenIssuer _tokens;
    private ChildProcess? _coreSim;
    private ChildProcess? _gateway;

    private Topology(NetnsLab lab, TokenIssuer tokens)
    {
        _lab = lab;
        _tokens = tokens;
    }

    public string Core { get; private set; } = "";

    public string Edge { get; private set; } = "";

    public Uri GatewayHttp => new($"http://10.215.{_lab.Octet}.2:8080");

    public UdpDelayLine Line { get; private set; } = null!;

    public static async Task<Topology> StartAsync(NetnsLab lab, TimeSpan oneWayDelay, CancellationToken token)
    {
        string dir = TempFolders.Create("relay-wg-e2e-");
        string signing = Path.Combine(dir, "signing.pem");
        using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(signing, ec.ExportPkcs8PrivateKeyPem());
        }

        var t = new Topology(lab, new TokenIssuer(signing));
        int o = lab.Octet;
        t.Core = lab.Namespace("core");
        t.Edge = lab.Namespace("edge");
        lab.Veth(null, $"rk{lab.Id}", $"10.213.{o}.254/24", t.Core, $"vc{lab.Id}", $"10.213.{o}.1/24");
        lab.Veth(null, $"rc{lab.Id}", $"10.215.{o}.1/24", t.Edge, $"re{lab.Id}", $"10.215.{o}.2/24");
        t.Line = new UdpDelayLine(new IPEndPoint(IPAddress.Parse($"10.215.{o}.1"), 0), new IPEndPoint(IPAddress.Parse($"10.213.{o}.1"), 51820)) { Delay = oneWayDelay };

        // Keys and wg-quick files, owner-only.
        var core = WireGuardKeyPair.Generate();
        var edge = WireGuardKeyPair.Generate();
        string coreConf = Path.Combine(dir, "core.conf"), edgeConf = Path.Combine(dir, "edge.conf");
        WgQuickConfig.Save(coreConf, new WireGuardConfig(
            new InterfaceConfig(core.PrivateKey, [Cidr($"10.214.{o}.1/24")], 51820),
            [new PeerConfig(edge.PublicKey, [Cidr($"10.214.{o}.2/32")], null, null, 2)]));
        WgQuickConfig.Save(edgeConf, new WireGuardConfig(
            new InterfaceConfig(edge.PrivateKey, [Cidr($"10.214.{o}.2/24")]),
            [new PeerConfig(core.PublicKey, [Cidr($"10.214.{o}.1/32")], t.Line.Front.ToString(), null, 2)]));

        string publicKey = Path.Combine(dir, "core-public.pem");

        t._coreSim = lab.Start(t.Core, "core-sim", Path.Combine(dir, "core-sim.log"), RelayProcesses.CoreSim(
            $"--CoreSim:BindAddress=10.214.{o}.1", "--CoreSim:HttpPort=7080", "--CoreSim:BackhaulPort=7000",
            $"--CoreSim:RelayKeys:edge-e2e={SharedKeyValue}", "--CoreSim:AdminKey=wireguard-e2e-admin-key-0123456789", $"--CoreSim:SigningKeyPath={signing}", $"--CoreSim:PublicKeyPath={publicKey}",
            "--CoreSim:WireGuard:Mode=Managed", $"--CoreSim:WireGuard:Interface=wgc{lab.Id}", $"--CoreSim:WireGuard:ConfigPath={coreConf}"));
        // The gateway verifies tokens with core-sim's public key: the same signing key, so written here.
        File.WriteAllText(publicKey, t._tokens.PublicKeyPem);
        await t._coreSim.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(30), token);
        t._gateway = lab.Start(t.Edge, "gateway", Path.Combine(dir, "gateway.log"), RelayProcesses.Gateway(
            "--Gateway:BindAddress=0.0.0.0", "--Gateway:HttpPort=8080", $"--Gateway:PublicKeyPath={publicKey}",
            $"--Gateway:Backhaul:Endpoints:0=10.214.{o}.1:7000", $"--Gateway:Backhaul:SharedKey={SharedKeyValue}",
            "--Gateway:Backhaul:RelayId=edge-e2e", "--Gateway:Backhaul:Region=edge",
            "--Gateway:WireGuard:Mode=Managed", $"--Gateway:WireGuard:Interface=wge{lab.Id}", $"--Gateway:WireGuard:ConfigPath={edgeConf}",
            "--Gateway:WireGuard:NoTrafficTimeout=00:00:05", "--Gateway:WireGuard:PollInterval=00:00:01"));
        return t;
    }

    private static string SharedKeyValue => "Z4WmFuyCzLJgrhJ9tYTP7BJ+LbFuP15y5GLanFW+BWE="; // the edge's own key, in core-sim's keyring

    public RelayClient Client() => new(new RelayClientOptions
    {
        Urls = [new Uri($"ws://10.215.{_lab.Octet}.2:8080/ws")],
        TokenProvider = _ => ValueTask.FromResult(_tokens.Issue("visitor-wg", "s1", "visitor", TimeSpan.FromHours(1)).Token),
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
    });

    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string path, CancellationToken token)
    {
        using var response = await _http.GetAsync(new Uri(GatewayHttp, path), token);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(token));
    }

    /// <summary>Polls the gateway until <paramref name="path"/> answers <paramref name="status"/>; returns the body.</summary>
    public async Task<string> WaitForAsync(string path, HttpStatusCode status, TimeSpan limit, CancellationToken token, string? bodyContains = null)
    {
        try
        {
            return await _gateway!.WaitForHttpAsync(new Uri(GatewayHttp, path), status, limit, token, bodyContains);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Assert.Fail($"{e.Message}\ncore-sim:\n{_coreSim!.Tail(15)}");
            throw;
        }
    }

    public void Dispose()
    {
        Line?.Dispose();
        _http.Dispose();
        _tokens.Dispose();
    }

    private static IpCidr Cidr(string text) => IpCidr.TryParse(text, out var c) ? c! : throw new FormatException(text);
}
