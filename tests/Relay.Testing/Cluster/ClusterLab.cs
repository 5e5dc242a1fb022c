using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Relay.Testing.Processes;

namespace Relay.Testing.Cluster;

/// <summary>
/// A core-sim cluster of real processes (issue 20): its own redis-server, N core-sim nodes sharing it and one signing
/// key, and optionally one gateway whose backhaul is linked to every node. Everything on loopback; disposed by pid.
/// </summary>
public sealed class ClusterLab : IAsyncDisposable
{
    /// <summary>The admin key of every node.</summary>
    public const string AdminKey = "cluster-lab-admin-key-0123456789";

    private readonly List<ClusterNode> _nodes = [];
    private readonly string _dir;

    private ClusterLab(RedisProcess redis, string dir)
    {
        Redis = redis;
        _dir = dir;
        PublicKeyPath = Path.Combine(dir, "public.pem");
    }

    public RedisProcess Redis { get; }

    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    /// <summary>The shared signing key's public half (the gateway checks tokens with it).</summary>
    public string PublicKeyPath { get; }

    public ChildProcess? Gateway { get; private set; }

    public int GatewayPort { get; private set; }

    public Uri GatewayWs => new($"ws://127.0.0.1:{GatewayPort}/ws");

    /// <summary>Starts the broker and <paramref name="nodes"/> core-sim nodes (core-1, core-2, …), each ready (GET /readyz 200).</summary>
    public static async Task<ClusterLab> StartAsync(int nodes, CancellationToken cancellationToken, params string[] nodeArguments)
    {
        string dir = TempFolders.Create("relay-cluster-");
        var redis = await RedisProcess.StartAsync(cancellationToken).ConfigureAwait(false);
        var lab = new ClusterLab(redis, dir);
        try
        {
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            {
                await File.WriteAllTextAsync(Path.Combine(dir, "signing.pem"), key.ExportPkcs8PrivateKeyPem(), cancellationToken).ConfigureAwait(false);
                await File.WriteAllTextAsync(lab.PublicKeyPath, key.ExportSubjectPublicKeyInfoPem(), cancellationToken).ConfigureAwait(false);
            }

            for (int i = 1; i <= nodes; i++)
            {
                lab._nodes.Add(lab.StartNode($"core-{i}", nodeArguments));
            }

            foreach (var node in lab._nodes)
            {
                await node.Process.WaitForHttpAsync(new Uri(node.Http, "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await lab.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return lab;
    }

    /// <summary>Starts one gateway (relay id "relay-1") with every node as a backhaul endpoint; waits until it is ready.</summary>
    public async Task StartGatewayAsync(CancellationToken cancellationToken, params string[] extra)
    {
        GatewayPort = Ports.Free();
        string[] endpoints = [.. _nodes.Select((n, i) => $"--Gateway:Backhaul:Endpoints:{i}=127.0.0.1:{n.BackhaulPort}")];
        Gateway = RelayProcesses.StartGateway("gateway", Path.Combine(_dir, "gateway.log"),
        [
            "--environment", "Development", "--Gateway:BindAddress=127.0.0.1", $"--Gateway:HttpPort={GatewayPort}",
            $"--Gateway:PublicKeyPath={PublicKeyPath}", "--Gateway:Backhaul:RelayId=relay-1", "--Gateway:Backhaul:Region=test",
            "--Gateway:Backhaul:LinksPerEndpoint=2", "--Gateway:Backhaul:HeartbeatInterval=00:00:00.5",
            $"--Gateway:AdminKey={AdminKey}", $"--Gateway:Health:AgentPort={Ports.Free()}",
            "--Gateway:MessagesPerSecond=2000", "--Gateway:MessageBurst=4000", // load tests: not the rate limit under test
            "--Logging:LogLevel:Default=Warning", .. endpoints, .. extra,
        ]);
        await Gateway.WaitForHttpAsync(new Uri($"http://127.0.0.1:{GatewayPort}/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Restarts a node (same id and ports) after it was killed.</summary>
    public ClusterNode Restart(ClusterNode node, params string[] nodeArguments)
    {
        node.Process.Dispose();
        var again = StartNode(node.Id, nodeArguments, node.HttpPort, node.BackhaulPort);
        _nodes[_nodes.IndexOf(node)] = again;
        return again;
    }

    public async ValueTask DisposeAsync()
    {
        Gateway?.Dispose();
        foreach (var node in _nodes)
        {
            node.Process.Dispose();
        }

        Redis.Dispose();
        await Task.Delay(100).ConfigureAwait(false); // the log writers close with their processes
        RedisProcess.TryDelete(_dir);
    }

    private ClusterNode StartNode(string id, string[] extra, int? httpPort = null, int? backhaulPort = null)
    {
        int http = httpPort ?? Ports.Free();
        int backhaul = backhaulPort ?? Ports.Free();
        var process = RelayProcesses.StartCoreSim(id, Path.Combine(_dir, id + ".log"),
        [
            "--environment", "Development", "--CoreSim:BindAddress=127.0.0.1", $"--CoreSim:HttpPort={http}",
            $"--CoreSim:BackhaulPort={backhaul}", $"--CoreSim:NodeId={id}", $"--CoreSim:AdminKey={AdminKey}",
            $"--CoreSim:SigningKeyPath={Path.Combine(_dir, "signing.pem")}", $"--CoreSim:Cluster:Redis={Redis.Endpoint}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Relay.CoreSim.Cluster=Information", .. extra,
        ]);
        return new ClusterNode(id, http, backhaul, process);
    }
}

/// <summary>One core-sim node of a <see cref="ClusterLab"/>.</summary>
public sealed record ClusterNode(string Id, int HttpPort, int BackhaulPort, ChildProcess Process)
{
    public Uri Http => new($"http://127.0.0.1:{HttpPort.ToString(CultureInfo.InvariantCulture)}/");

    public Uri Ws => new($"ws://127.0.0.1:{HttpPort.ToString(CultureInfo.InvariantCulture)}/ws");
}
