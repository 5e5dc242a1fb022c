using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Relay.Contracts.Regions;
using Relay.Testing;
using Relay.Testing.Netns;
using Relay.Testing.Processes;
using Relay.Testing.Regions;

namespace Relay.Regions.Tests;

/// <summary>
/// Three regions (sg, syd, us) and their relays' readiness endpoints (Kestrel on 127.R.k.j), the regions file for
/// them, PowerDNS serving the zone relay-regions generated from it and, when this runs as root with iproute2, one
/// users' network namespace per region (veth to this namespace, an address in that region's subnet).
/// <code>
/// sg : 10.217.O.0/26 (and 10.217.O.0/24, less specific) → sg-1, sg-2; falls back to syd, then us
/// syd: 10.217.O.64/26  → syd-1; falls back to sg, then us
/// us : 10.217.O.128/26 → us-1;  falls back to syd (then, as every region, to any other: sg)
/// </code>
/// </summary>
internal sealed class SteeringWorld : IAsyncDisposable
{
    public const string Hostname = "chat.relay.test.";
    private readonly List<ReadinessServer> _servers = [];
    private NetnsLab? _lab;
    private string? _folder;
    private PdnsProcess? _pdns;

    private SteeringWorld(int loopbackOctet, int labOctet)
    {
        LoopbackOctet = loopbackOctet;
        LabOctet = labOctet;
    }

    public static string[] RegionNames { get; } = ["sg", "syd", "us"];

    /// <summary>127.R.0.0/16 is this world's: PowerDNS on 127.R.0.53, relays on 127.R.k.j.</summary>
    public int LoopbackOctet { get; }

    /// <summary>The users' subnets are in 10.217.O.0/24.</summary>
    public int LabOctet { get; }

    public string Server => $"127.{LoopbackOctet}.0.53";

    public PdnsProcess Pdns => _pdns!;

    /// <summary>Relay id → its readiness endpoint.</summary>
    public Dictionary<string, ReadinessServer> Relays { get; } = [];

    /// <summary>Region → its users' namespace, or empty when namespaces are not possible here (<see cref="NoNetns"/> says why).</summary>
    public Dictionary<string, string> UserNamespaces { get; } = [];

    public string? NoNetns { get; private set; }

    public RegionsFile File { get; private set; } = null!;

    public static async Task<SteeringWorld> StartAsync(CancellationToken token)
    {
        var world = new SteeringWorld(RandomNumberGenerator.GetInt32(2, 250), RandomNumberGenerator.GetInt32(1, 250));
        try
        {
            await world.BuildAsync(token);
            return world;
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
    }

    /// <summary>The region's users' subnet (k = 0, 1, 2 for sg, syd, us).</summary>
    public string Subnet(string region) => $"10.217.{LabOctet}.{64 * Array.IndexOf(RegionNames, region)}/26";

    /// <summary>A user's address in the region's subnet (.2 in it; .1 is this namespace's end of the veth).</summary>
    public string UserAddress(string region) => $"10.217.{LabOctet}.{64 * Array.IndexOf(RegionNames, region) + 2}";

    public string RootAddress(string region) => $"10.217.{LabOctet}.{64 * Array.IndexOf(RegionNames, region) + 1}";

    /// <summary>The answer addresses of relays, sorted as <see cref="Dig"/> sorts its answers.</summary>
    public IReadOnlyList<string> AddressesOf(params string[] relayIds) => [.. relayIds.Select(id => Relays[id].Address).Order(StringComparer.Ordinal)];

    /// <summary>A query with the EDNS client subnet <paramref name="clientSubnet"/>, sent from 127.0.0.1.</summary>
    public Task<IReadOnlyList<string>> AskWithSubnetAsync(string clientSubnet, CancellationToken token) =>
        Dig.QueryAsync(Server, Pdns.Port, Hostname, token, clientSubnet: clientSubnet);

    /// <summary>A query from the region's users' namespace to this namespace's end of its veth: the source address decides.</summary>
    public Task<IReadOnlyList<string>> AskFromNamespaceAsync(string region, CancellationToken token) =>
        Dig.QueryAsync(RootAddress(region), Pdns.Port, Hostname, token, netns: UserNamespaces[region]);

    /// <summary>
    /// Asks until the answer is <paramref name="expected"/> (PowerDNS checks the readiness URLs in the background, once
    /// a second here), for at most 30 s; fails with the last answer and PowerDNS's log otherwise.
    /// </summary>
    public async Task EventuallyAsync(Func<CancellationToken, Task<IReadOnlyList<string>>> ask, IReadOnlyList<string> expected, string what, CancellationToken token)
    {
        long until = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        string last = "(no answer yet)";
        for (int attempt = 0; attempt < 300 && Stopwatch.GetTimestamp() < until; attempt++)
        {
            try
            {
                var answer = await ask(token);
                if (answer.SequenceEqual(expected))
                {
                    return;
                }

                last = answer.Count == 0 ? "(empty)" : string.Join(' ', answer);
            }
            catch (IOException e)
            {
                last = e.Message;
            }

            await Task.Delay(100, token);
        }

        Assert.Fail($"{what}: expected {string.Join(' ', expected)}, last answer {last}\nPowerDNS:\n{Pdns.Log}");
    }

    /// <summary>Every relay ready again, and every region's users answered their own region's relays.</summary>
    public async Task AllReadyAsync(CancellationToken token)
    {
        foreach (var relay in Relays.Values)
        {
            relay.Ready = true;
        }

        foreach (var region in File.Regions)
        {
            await EventuallyAsync(t => AskWithSubnetAsync(UserAddress(region.Name) + "/32", t), AddressesOf([.. region.Relays.Select(r => r.Id)]), $"{region.Name} users, all relays ready", token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pdns?.Dispose();
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _lab?.Dispose();
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true); // not only at exit: the test host may end before its exit handlers finish
        }
    }

    private async Task BuildAsync(CancellationToken token)
    {
        var layout = new (string Region, string[] Relays, string[] Fallback)[]
        {
            ("sg", ["sg-1", "sg-2"], ["syd", "us"]),
            ("syd", ["syd-1"], ["sg", "us"]),
            ("us", ["us-1"], ["syd"]), // sg only as any other region (after its fallback)
        };
        var regions = new List<Region>();
        for (int k = 0; k < layout.Length; k++)
        {
            var (name, relayIds, fallback) = layout[k];
            var relays = new List<RegionRelay>();
            for (int j = 0; j < relayIds.Length; j++)
            {
                var server = await ReadinessServer.StartAsync($"127.{LoopbackOctet}.{k + 1}.{j + 1}", token);
                _servers.Add(server);
                Relays[relayIds[j]] = server;
                relays.Add(new RegionRelay(relayIds[j], server.Address, $"ws://{server.Address}:{server.Port}/ws", server.ReadyzUrl));
            }

            string[] subnets = name == "sg" ? [Subnet(name), $"10.217.{LabOctet}.0/24"] : [Subnet(name)];
            regions.Add(new Region(name, subnets, fallback, relays));
        }

        File = new RegionsFile(regions, Hostname, "relay.test.", 1);
        _folder = TempFolders.Create("relay-regions-");
        string regionsPath = Path.Combine(_folder, "regions.json");
        await System.IO.File.WriteAllTextAsync(regionsPath, JsonSerializer.Serialize(File, JsonSerializerOptions.Web), token);

        var listen = new List<string> { Server };
        NoNetns = NetnsMissing();
        if (NoNetns is null)
        {
            _lab = new NetnsLab();
            for (int k = 0; k < RegionNames.Length; k++)
            {
                string region = RegionNames[k];
                string ns = _lab.Namespace("u" + region);
                _lab.Veth(null, $"rg{_lab.Id}h{k}", RootAddress(region) + "/26", ns, $"rg{_lab.Id}u{k}", UserAddress(region) + "/26");
                UserNamespaces[region] = ns;
                listen.Add(RootAddress(region));
            }
        }

        _pdns = await PdnsProcess.StartAsync(regionsPath, listen, healthCheckInterval: 1, token);
    }

    private static string? NetnsMissing()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return "the namespace tests need Linux and root (ip netns add)";
        }

        return ProcessRunner.TryRun("ip", "-V") is null ? "the namespace tests need iproute2: apt-get install iproute2" : null;
    }
}
