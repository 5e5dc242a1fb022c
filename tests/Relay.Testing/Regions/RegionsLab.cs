using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Relay.Contracts.Tokens;
using Relay.Testing.Netns;
using Relay.Testing.Processes;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;

namespace Relay.Testing.Regions;

/// <summary>
/// The world of issue 17 in network namespaces: core-sim in "eu"; gateways in relay regions ("sg" with two, "syd",
/// "us" by default), each in its own namespace; a users namespace per region (and one in eu). Every packet between
/// namespaces crosses a <see cref="TunWan"/> with the round trip of its two regions (a user to its own region's
/// relays <see cref="RegionsLabOptions.NearRtt"/>, a relay to eu its region's RTT, a user to eu the same as its
/// relays'), so source addresses are real and a TCP handshake pays its round trip. The backhaul runs inside WireGuard
/// (wireguard-go managed by core-sim and each gateway). The lab writes its regions file (issue 17's contract) to
/// <see cref="RegionsFilePath"/>. <see cref="DisposeAsync"/> (also at process exit) stops everything and deletes the
/// namespaces. Addresses are fixed (10.70.0.0/16 eu, 10.(70+k).0.0/16 the k-th region: relays .0.2…, users .1.10):
/// every address lives inside the lab's own namespaces, so two labs never clash.
/// </summary>
public sealed class RegionsLab : IAsyncDisposable
{
    public const int RelayPort = 8080;
    public const int CoreHttpPort = 7080;
    public const int BackhaulPort = 7000;
    public const int WireGuardPort = 51820;
    public const string AdminKey = "regions-lab-admin-key-0123456789";
    public const string Hostname = "chat.relay.test.";
    public const string Zone = "relay.test.";
    public const string Site = "s1";

    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly RegionsLabOptions _options;
    private readonly List<LabRegion> _regions = [];
    private readonly Dictionary<string, string> _relayKeys = [];
    private int _disposed;
    private int _controlLinks;

    private RegionsLab(RegionsLabOptions options)
    {
        _options = options;
        Netns = new NetnsLab();
        Wan = new TunWan(Netns.Id);
        Folder = TempFolders.Create("relay-regions-lab-");
        SigningKeyPath = Path.Combine(Folder, "signing.pem");
        using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(SigningKeyPath, ec.ExportPkcs8PrivateKeyPem());
        }

        Tokens = new TokenIssuer(SigningKeyPath);
        PublicKeyPath = Path.Combine(Folder, "core-public.pem");
        File.WriteAllText(PublicKeyPath, Tokens.PublicKeyPem);
        RegionsFilePath = Path.Combine(Folder, "regions.json");
    }

    /// <summary>Null when the lab can run here (root, wireguard-go, ip, /dev/net/tun, a build); otherwise what is missing.</summary>
    public static string? CheckPrerequisites() =>
        NetnsLab.CheckPrerequisites() ?? (File.Exists("/dev/net/tun") ? null : "no /dev/net/tun (the TUN driver)") ?? Repo.MissingBuild();

    /// <summary>The namespaces, processes and cleanup (also usable to add namespaces and processes of your own).</summary>
    public NetnsLab Netns { get; }

    /// <summary>The WAN: <see cref="TunWan.SetLoss"/> cuts a region off, <see cref="TunWan.SetRtt"/> changes a round trip.</summary>
    public TunWan Wan { get; }

    /// <summary>Where the lab's files are (keys, configs, logs, the regions file); removed at process exit.</summary>
    public string Folder { get; }

    /// <summary>The regions file (the contract's format) describing this lab.</summary>
    public string RegionsFilePath { get; }

    /// <summary>core-sim's token signing key (PEM); users mint their tokens with it.</summary>
    public string SigningKeyPath { get; }

    public string PublicKeyPath { get; }

    /// <summary>Tokens the core accepts (and every gateway verifies).</summary>
    public TokenIssuer Tokens { get; }

    /// <summary>The core's namespace.</summary>
    public string CoreNamespace { get; private set; } = "";

    /// <summary>The core's address on the WAN (HTTP and direct /ws).</summary>
    public string CoreAddress => "10.70.0.1";

    /// <summary>The core's end of the WireGuard tunnels (backhaul endpoint).</summary>
    public string CoreTunnelAddress => "10.79.0.1";

    public Uri CoreHttp => new($"http://{CoreAddress}:{CoreHttpPort}");

    /// <summary>core-sim's HTTP on its control address (from the test process, no WAN delay): /fleet, /v1/faults…</summary>
    public Uri CoreControl { get; private set; } = null!;

    /// <summary>Direct to the core: its /ws.</summary>
    public Uri CoreUrl => new($"ws://{CoreAddress}:{CoreHttpPort}/ws");

    /// <summary>
    /// The core's negotiate endpoint on the WAN: from a users namespace, the caller's own address picks its region
    /// (core-sim reads the lab's regions file), and the list holds the relays the core sees healthy.
    /// </summary>
    public Uri CoreNegotiateUrl => new(CoreHttp, "/v1/negotiate");

    public ChildProcess? Core { get; private set; }

    /// <summary>The relay regions, then the core's region (no relays unless <see cref="RegionsLabOptions.CoreAsRelay"/>).</summary>
    public IReadOnlyList<LabRegion> Regions => _regions;

    public IEnumerable<LabRelay> Relays => _regions.SelectMany(r => r.Relays).Where(r => r.Id != CoreRelayId);

    public string CoreRelayId => $"{_options.CoreRegion}-core";

    public LabRegion Region(string name) => _regions.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"no region {name}");

    public LabRelay Relay(string id) => Relays.FirstOrDefault(r => r.Id == id) ?? throw new ArgumentException($"no relay {id}");

    /// <summary>The users namespace of a region.</summary>
    public string UsersNamespace(string region) => Region(region).UsersNamespace;

    /// <summary>A region's users' URLs: its own relays first, then the fallback regions' relays in fallback order (what negotiate will answer).</summary>
    public IReadOnlyList<Uri> FallbackUrls(string region)
    {
        var r = Region(region);
        return [.. r.Relays.Select(x => x.Url), .. r.Fallback.SelectMany(f => Region(f).Relays.Select(x => x.Url))];
    }

    /// <summary>Builds and starts the world; on any failure everything made so far is removed before the exception leaves.</summary>
    public static async Task<RegionsLab> StartAsync(RegionsLabOptions? options, Action<string>? log, CancellationToken token)
    {
        var lab = new RegionsLab(options ?? new RegionsLabOptions());
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
            limit.CancelAfter(lab._options.StartLimit);
            await lab.BuildAsync(log ?? (_ => { }), limit.Token);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Attaches one more namespace to the WAN in <paramref name="region"/> with <paramref name="address"/> (e.g. a DNS
    /// server: <c>AttachNamespace("dns", "eu", "10.70.0.53")</c>); start processes in it with <see cref="NetnsLab.Start"/>.
    /// </summary>
    public string AttachNamespace(string role, string region, string address)
    {
        string ns = Netns.Namespace(role);
        Wan.Attach(ns, region, address);
        return ns;
    }

    /// <summary>
    /// A control link from the root namespace (this process) into <paramref name="ns"/>: a veth pair on a /30 of
    /// 10.226.&lt;lab octet&gt;.0/24, no WAN delay, only between this process and that namespace. Returns the
    /// namespace's address on it.
    /// </summary>
    public string AddControlLink(string ns)
    {
        int n = Interlocked.Increment(ref _controlLinks);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, 63);
        string net = $"10.226.{Netns.Octet}";
        Netns.Veth(null, $"m{Netns.Id}{n}", $"{net}.{4 * n + 1}/30", ns, $"n{Netns.Id}{n}", $"{net}.{4 * n + 2}/30");
        return $"{net}.{4 * n + 2}";
    }

    /// <summary>The DNS server's address on the WAN (its namespace is in the core's region), once <see cref="StartDnsAsync"/> ran.</summary>
    public string DnsAddress => "10.70.0.53";

    public const int DnsPort = 53;

    /// <summary>The PowerDNS of <see cref="StartDnsAsync"/> (null before).</summary>
    public PdnsProcess? Dns { get; private set; }

    /// <summary>
    /// PowerDNS in its own namespace on the WAN ("dns", in the core's region, <see cref="DnsAddress"/>:53), serving the
    /// zone relay-regions generates from the lab's regions file: it checks every relay's /readyz across the WAN every
    /// <paramref name="healthCheckInterval"/> seconds (timeout <paramref name="healthCheckTimeout"/> s: a new connection
    /// to syd is two 280 ms round trips). Stopped and removed with the lab. Ask it with <see cref="DigAsync"/>.
    /// </summary>
    public async Task<PdnsProcess> StartDnsAsync(CancellationToken token, int healthCheckInterval = 1, int healthCheckTimeout = 2)
    {
        if (Dns is not null)
        {
            throw new InvalidOperationException("the lab's DNS is already running");
        }

        string ns = AttachNamespace("dns", _options.CoreRegion, DnsAddress);
        Dns = await PdnsProcess.StartInNamespaceAsync(Netns, ns, RegionsFilePath, DnsAddress, DnsPort, healthCheckInterval, healthCheckTimeout, token);
        return Dns;
    }

    /// <summary>
    /// <c>dig @dns chat.relay.test A</c> from <paramref name="region"/>'s users namespace (its source address picks the
    /// region, across the WAN): the sorted addresses answered. Throws <see cref="IOException"/> without an answer.
    /// </summary>
    public Task<IReadOnlyList<string>> DigAsync(string region, CancellationToken token) =>
        Dig.QueryAsync(DnsAddress, DnsPort, Hostname.TrimEnd('.'), token, netns: UsersNamespace(region));

    /// <summary>A region's relays' addresses, sorted as <see cref="DigAsync"/> answers them.</summary>
    public IReadOnlyList<string> RelayAddresses(string region) => [.. Region(region).Relays.Select(r => r.Address).Order(StringComparer.Ordinal)];

    /// <summary>
    /// The relay ids the core's negotiate lists as healthy or degraded for <paramref name="region"/> (asked on the control
    /// address: <c>?region=</c>), best first; not the sick ones it lists when no relay anywhere is ready.
    /// </summary>
    public async Task<IReadOnlyList<string>> NegotiateListsAsync(string region, CancellationToken token)
    {
        using var response = await s_http.GetAsync(new Uri(CoreControl, $"/v1/negotiate?region={Uri.EscapeDataString(region)}"), token);
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token));
        return [.. doc.RootElement.GetProperty("relays").EnumerateArray()
            .Where(r => r.GetProperty("state").GetString() is "healthy" or "degraded")
            .Select(r => r.GetProperty("id").GetString() ?? "")];
    }

    /// <summary>
    /// Waits (bounded) until the core's negotiate for <paramref name="region"/> lists every relay of that region
    /// (e.g. after a start or a restart: a relay is listed once its backhaul link is up and it reported healthy).
    /// </summary>
    public async Task<bool> WaitNegotiateListsRegionAsync(string region, TimeSpan limit, CancellationToken token)
    {
        var ids = Region(region).Relays.Where(r => r.Id != CoreRelayId).Select(r => r.Id).ToArray();
        long until = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            try
            {
                var listed = await NegotiateListsAsync(region, token);
                if (ids.All(listed.Contains))
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // not yet
            }

            await Task.Delay(100, token);
        }

        return false;
    }

    /// <summary>SIGKILLs every gateway of <paramref name="region"/> at once; returns the Stopwatch timestamp just before.</summary>
    public long KillRegion(string region)
    {
        var relays = Region(region).Relays.Where(r => r.Id != CoreRelayId).ToArray();
        long at = Stopwatch.GetTimestamp();
        Parallel.ForEach(relays, r => r.Kill());
        return at;
    }

    /// <summary>
    /// Cuts the relays of <paramref name="region"/> off the WAN (every packet from and to their namespaces dropped: no
    /// close, no reset, as a site going dark), or restores them. The region's users keep their own WAN.
    /// </summary>
    public void CutRegion(string region, bool cut = true)
    {
        foreach (var r in Region(region).Relays.Where(r => r.Id != CoreRelayId))
        {
            Wan.SetLoss(r.Namespace, cut ? 1.0 : 0.0);
        }
    }

    /// <summary>Starts a relay's gateway again (after a kill) and waits until it is ready.</summary>
    public async Task RestartRelayAsync(string id, CancellationToken token)
    {
        var relay = Relay(id);
        relay.Process?.Dispose();
        StartGateway(relay);
        await relay.Process!.WaitForHttpAsync(new Uri(relay.Control, "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(60), token);
    }

    /// <summary>
    /// Starts the users of a region in its users namespace (see <see cref="RegionUsers"/>): with a fixed URL list
    /// (<paramref name="urls"/>, default <see cref="FallbackUrls"/>), or with <paramref name="negotiateUrl"/> (e.g.
    /// <see cref="CoreNegotiateUrl"/>) the SDK's negotiate and race (<paramref name="raceAfter"/>: the SDK's default when null).
    /// </summary>
    public RegionUsers StartUsers(string region, int sessions, double rate, IReadOnlyList<Uri>? urls = null, int? own = null, string? name = null, int firstId = 0,
        Uri? negotiateUrl = null, TimeSpan? raceAfter = null)
    {
        var r = Region(region);
        if (negotiateUrl is not null)
        {
            return RegionUsers.Start(this, r.UsersNamespace, name ?? region, sessions, rate, [], 1, firstId, negotiateUrl, raceAfter);
        }

        urls ??= FallbackUrls(region);
        own ??= Math.Max(1, r.Relays.Count(x => urls.Contains(x.Url)));
        return RegionUsers.Start(this, r.UsersNamespace, name ?? region, sessions, rate, urls, own.Value, firstId, null, null);
    }

    private async Task BuildAsync(Action<string> log, CancellationToken token)
    {
        string id = Netns.Id;
        string coreRegion = _options.CoreRegion;
        log($"regions lab {id}: files in {Folder}");
        CoreNamespace = Netns.Namespace(coreRegion);
        Wan.Attach(CoreNamespace, coreRegion, CoreAddress);
        CoreControl = new Uri($"http://{AddControlLink(CoreNamespace)}:{CoreHttpPort}");
        Wan.SetRtt(coreRegion, coreRegion, _options.NearRtt);

        // Relay regions: namespaces, addresses, round trips.
        int k = 0, tunnelHost = 2;
        var specs = _options.Regions;
        foreach (var spec in specs)
        {
            k++;
            string prefix = $"10.{70 + k}";
            var relays = new List<LabRelay>();
            for (int i = 1; i <= spec.Relays; i++)
            {
                string relayId = $"{spec.Name}-{i}";
                string ns = Netns.Namespace($"{spec.Name}{i}");
                string address = $"{prefix}.0.{1 + i}";
                Wan.Attach(ns, spec.Name, address);
                var relay = new LabRelay(relayId, spec.Name, ns, address, $"10.79.0.{tunnelHost++}", $"wg{k}{i}{id}") { ControlAddress = AddControlLink(ns) };
                relays.Add(relay);
                _relayKeys[relayId] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            }

            string users = Netns.Namespace($"users-{spec.Name}");
            string usersAddress = $"{prefix}.1.10";
            Wan.Attach(users, spec.Name, usersAddress);
            Wan.SetRtt(spec.Name, spec.Name, _options.NearRtt);
            Wan.SetRtt(spec.Name, coreRegion, spec.RttToCore);
            _regions.Add(new LabRegion(spec.Name, users, usersAddress, $"{prefix}.1.0/24", relays, []));
        }

        foreach (var a in specs)
        {
            foreach (var b in specs.Where(b => string.CompareOrdinal(a.Name, b.Name) < 0))
            {
                var rtt = _options.RegionRtt.TryGetValue((a.Name, b.Name), out var x) || _options.RegionRtt.TryGetValue((b.Name, a.Name), out x)
                    ? x
                    : a.RttToCore > b.RttToCore ? a.RttToCore : b.RttToCore;
                Wan.SetRtt(a.Name, b.Name, rtt);
            }
        }

        string coreUsers = Netns.Namespace($"users-{coreRegion}");
        Wan.Attach(coreUsers, coreRegion, "10.70.1.10");
        var coreRelays = new List<LabRelay>();
        if (_options.CoreAsRelay)
        {
            coreRelays.Add(new LabRelay(CoreRelayId, coreRegion, CoreNamespace, CoreAddress, CoreTunnelAddress, ""));
        }

        _regions.Add(new LabRegion(coreRegion, coreUsers, "10.70.1.10", "10.70.1.0/24", coreRelays, []));

        // Fallback: the other regions with relays, nearest (round trip from this region) first.
        for (int i = 0; i < _regions.Count; i++)
        {
            var r = _regions[i];
            var fallback = _regions.Where(o => o.Name != r.Name && o.Relays.Count > 0).OrderBy(o => Wan.Rtt(r.Name, o.Name)).ThenBy(o => o.Name, StringComparer.Ordinal).Select(o => o.Name).ToArray();
            _regions[i] = r with { Fallback = fallback };
        }

        WriteRegionsFile();
        log($"regions file: {RegionsFilePath}");

        // WireGuard: core-sim's interface with one peer per relay; each gateway's interface with the core as its peer.
        var coreKeys = WireGuardKeyPair.Generate();
        var relayKeys = Relays.ToDictionary(r => r.Id, _ => WireGuardKeyPair.Generate());
        string coreConf = Path.Combine(Folder, "wg-core.conf");
        if (_options.WireGuard)
        {
            WgQuickConfig.Save(coreConf, new WireGuardConfig(
                new InterfaceConfig(coreKeys.PrivateKey, [Cidr($"{CoreTunnelAddress}/24")], WireGuardPort),
                [.. Relays.Select(r => new PeerConfig(relayKeys[r.Id].PublicKey, [Cidr($"{r.TunnelAddress}/32")], null, null, 5))]));
            foreach (var r in Relays)
            {
                WgQuickConfig.Save(RelayConf(r), new WireGuardConfig(
                    new InterfaceConfig(relayKeys[r.Id].PrivateKey, [Cidr($"{r.TunnelAddress}/24")]),
                    [new PeerConfig(coreKeys.PublicKey, [Cidr($"{CoreTunnelAddress}/32")], $"{CoreAddress}:{WireGuardPort}", null, 5)]));
            }
        }

        List<string> coreArgs =
        [
            "--CoreSim:BindAddress=0.0.0.0", $"--CoreSim:HttpPort={CoreHttpPort}", $"--CoreSim:BackhaulPort={BackhaulPort}",
            $"--CoreSim:AdminKey={AdminKey}", $"--CoreSim:SigningKeyPath={SigningKeyPath}",
            "--CoreSim:FleetBroadcastInterval=00:00:00.5", $"--CoreSim:RegionsFile={RegionsFilePath}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
            .. Relays.Select(r => $"--CoreSim:RelayKeys:{r.Id}={_relayKeys[r.Id]}"),
        ];
        if (_options.WireGuard)
        {
            coreArgs.AddRange(["--CoreSim:WireGuard:Mode=Managed", $"--CoreSim:WireGuard:Interface=wgc{id}", $"--CoreSim:WireGuard:ConfigPath={coreConf}"]);
        }

        Core = Netns.Start(CoreNamespace, "core-sim", Path.Combine(Folder, "core-sim.log"), RelayProcesses.CoreSim([.. coreArgs, .. _options.CoreArguments.Select(a => a.Replace("{regionsFile}", RegionsFilePath, StringComparison.Ordinal))]));
        await Core.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(60), token);
        log("core-sim started in " + CoreNamespace);
        foreach (var r in Relays)
        {
            StartGateway(r);
        }

        await Task.WhenAll(Relays.Select(r => r.Process!.WaitForHttpAsync(new Uri(r.Control, "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(90), token)));
        log($"{Relays.Count()} gateways ready (backhaul links up{(_options.WireGuard ? " through WireGuard" : "")})");
    }

    private string RelayConf(LabRelay r) => Path.Combine(Folder, $"wg-{r.Id}.conf");

    private void StartGateway(LabRelay r)
    {
        List<string> args =
        [
            "--Gateway:BindAddress=0.0.0.0", $"--Gateway:HttpPort={RelayPort}", $"--Gateway:PublicKeyPath={PublicKeyPath}",
            $"--Gateway:Backhaul:Endpoints:0={(_options.WireGuard ? CoreTunnelAddress : CoreAddress)}:{BackhaulPort}", $"--Gateway:Backhaul:SharedKey={_relayKeys[r.Id]}",
            $"--Gateway:Backhaul:RelayId={r.Id}", $"--Gateway:Backhaul:Region={r.Region}", "--Gateway:Backhaul:LinksPerEndpoint=2",
            $"--Gateway:AdminKey={AdminKey}", "--Gateway:ShutdownTimeout=00:00:05",
            "--Gateway:MaxSessionsPerIp=10000", "--Gateway:MaxPreAuthConnectionsPerIp=10000",
            "--Gateway:Health:DrainBatchInterval=00:00:00.05", "--Gateway:Health:DrainBatchSize=20",
            $"--Gateway:Negotiate:TokenUrl={CoreNegotiateUrl}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
        ];
        if (_options.WireGuard)
        {
            args.AddRange(["--Gateway:WireGuard:Mode=Managed", $"--Gateway:WireGuard:Interface={r.WireGuardInterface}", $"--Gateway:WireGuard:ConfigPath={RelayConf(r)}"]);
        }

        r.Process = Netns.Start(r.Namespace, r.Id, Path.Combine(Folder, $"{r.Id}.log"), RelayProcesses.Gateway([.. args, .. _options.GatewayArguments.Select(a => a
            .Replace("{regionsFile}", RegionsFilePath, StringComparison.Ordinal).Replace("{relayId}", r.Id, StringComparison.Ordinal)
            .Replace("{region}", r.Region, StringComparison.Ordinal).Replace("{address}", r.Address, StringComparison.Ordinal))]));
    }

    /// <summary>The regions file of issue 17's contract, describing this lab.</summary>
    private void WriteRegionsFile()
    {
        var regions = new JsonArray();
        foreach (var r in _regions)
        {
            var relays = new JsonArray();
            foreach (var x in r.Relays)
            {
                bool core = x.Id == CoreRelayId;
                relays.Add(new JsonObject
                {
                    ["id"] = x.Id,
                    ["address"] = x.Address,
                    ["url"] = core ? CoreUrl.ToString() : x.Url.ToString(),
                    ["readyz"] = core ? new Uri(CoreHttp, "/healthz").ToString() : x.Readyz.ToString(),
                });
            }

            regions.Add(new JsonObject
            {
                ["name"] = r.Name,
                ["subnets"] = new JsonArray(r.UsersSubnet),
                ["fallback"] = new JsonArray([.. r.Fallback.Select(f => JsonValue.Create(f))]),
                ["relays"] = relays,
            });
        }

        var file = new JsonObject
        {
            ["hostname"] = Hostname,
            ["zone"] = Zone,
            ["ttl"] = 5,
            ["regions"] = regions,
        };
        File.WriteAllText(RegionsFilePath, file.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // Processes first (SIGTERM, then SIGKILL; their WireGuard devices go with them), then the WAN, then the namespaces.
        await Task.Run(Netns.Dispose);
        Dns?.Dispose();
        Wan.Dispose();
        Tokens.Dispose();
        TempFolders.Remove(Folder); // its signing key and logs: gone with the lab
    }

    private static IpCidr Cidr(string text) => IpCidr.TryParse(text, out var c) ? c! : throw new FormatException(text);

}
