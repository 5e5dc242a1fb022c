using Relay.CoreSim;
using Relay.CoreSim.Configuration;
using Relay.Testing;
using Relay.Testing.Steering;

namespace Relay.Steering.Tests;

/// <summary>core-sim (in process), three gateways (processes) and HAProxy in front of them.</summary>
internal sealed class SteeringFixture : IAsyncDisposable
{
    public const string SharedKey = "Eq8iNmx8+BpPcEhyGnIsOgqZgN0JkD7IhTwEz5D0M78=";
    private readonly string _dir;

    private SteeringFixture(string dir, CoreSimHost core, List<GatewayProcess> gateways, HaproxyProcess haproxy)
    {
        _dir = dir;
        Core = core;
        Gateways = gateways;
        Haproxy = haproxy;
    }

    public CoreSimHost Core { get; }

    public List<GatewayProcess> Gateways { get; }

    public HaproxyProcess Haproxy { get; }

    public static void RequireHaproxy()
    {
        if (HaproxyProcess.Executable is null)
        {
            Assert.Ignore("HAProxy is not installed: apt-get install haproxy (./build.sh test installs it when run as root)");
        }

        if (!File.Exists(Repo.GatewayDll))
        {
            Assert.Ignore($"the gateway is not built at {Repo.GatewayDll}: run dotnet build Relay.sln -c {Repo.Configuration}");
        }
    }

    public static async Task<SteeringFixture> StartAsync(CancellationToken token, int gateways = 3, Action<CoreSimOptions>? core = null, params string[] gatewayArgs)
    {
        RequireHaproxy();
        string dir = TempFolders.Create("relay-steering-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        var coreHost = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
            o.SharedKey = SharedKey;
            o.PublicKeyPath = publicKey;
            o.FleetBroadcastInterval = TimeSpan.FromMilliseconds(200);
            o.FleetDrainSickAfter = TimeSpan.FromMinutes(10);
            core?.Invoke(o);
        }, token);
        var list = new List<GatewayProcess>();
        HaproxyProcess? haproxy = null;
        try
        {
            for (int i = 1; i <= gateways; i++)
            {
                list.Add(GatewayProcess.Start($"gw{i}", coreHost.BackhaulPort, publicKey, SharedKey, gatewayArgs));
            }

            foreach (var g in list)
            {
                await g.WaitReadyAsync(token);
            }

            haproxy = HaproxyProcess.Start(list);
            foreach (var g in list)
            {
                await haproxy.WaitForStatusAsync(g.Id, s => s.StartsWith("UP", StringComparison.Ordinal), token);
            }

            return new SteeringFixture(dir, coreHost, list, haproxy);
        }
        catch
        {
            if (haproxy is not null)
            {
                await haproxy.DisposeAsync();
            }

            foreach (var g in list)
            {
                await g.DisposeAsync();
            }

            await coreHost.DisposeAsync();
            throw;
        }
    }

    public string Token(int id) => Core.Tokens.Issue($"user{id}", "s1", "visitor", TimeSpan.FromHours(1)).Token;

    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what, CancellationToken token, int seconds = 20)
    {
        for (int i = 0; i < seconds * 10; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100, token);
        }

        Assert.Fail($"timed out waiting for: {what}\n" + string.Join("\n---\n", Gateways.Select(g => $"{g.Id}: {g.Log}")));
    }

    public async ValueTask DisposeAsync()
    {
        await Haproxy.DisposeAsync();
        foreach (var g in Gateways)
        {
            await g.DisposeAsync();
        }

        await Core.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
