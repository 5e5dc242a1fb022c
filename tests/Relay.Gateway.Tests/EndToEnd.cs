using System.Net;
using Microsoft.AspNetCore.Builder;
using Relay.CoreSim;

namespace Relay.Gateway.Tests;

/// <summary>A real core-sim behind real gateways, in-process on loopback ports: what the end-to-end tests share.</summary>
internal static class EndToEnd
{
    /// <summary>Starts core-sim with the fixture's backhaul key; it writes its token public key to <paramref name="publicKeyPath"/>.</summary>
    public static Task<CoreSimHost> StartCoreSimAsync(string publicKeyPath, CancellationToken token) => CoreSimHost.StartAsync(o =>
    {
        o.BindAddress = "127.0.0.1";
        o.HttpPort = 0;
        o.BackhaulPort = 0;
        o.SharedKey = GatewayFixture.SharedKey;
        o.PublicKeyPath = publicKeyPath;
    }, token);

    /// <summary>The gateway's plain <c>ws://…/ws</c> endpoint.</summary>
    /// <summary>A relay of the regions tests: on 127.0.0.1:<paramref name="port"/>, one link to the in-process core,
    /// health read and reported fast, no agent port. The caller adds what its test needs.</summary>
    public static void RegionalRelay(Configuration.GatewayOptions o, string id, string region, int port, string publicKey, string adminKey, int coreBackhaulPort)
    {
        o.HttpPort = port;
        o.BindAddress = "127.0.0.1";
        o.PublicKeyPath = publicKey;
        o.AdminKey = adminKey;
        o.Backhaul.Endpoints = [$"127.0.0.1:{coreBackhaulPort}"];
        o.Backhaul.SharedKey = GatewayFixture.SharedKey;
        o.Backhaul.RelayId = id;
        o.Backhaul.Region = region;
        o.Backhaul.LinksPerEndpoint = 1;
        o.ShutdownTimeout = TimeSpan.FromSeconds(2);
        o.Health.EvaluationInterval = TimeSpan.FromMilliseconds(100);
        o.Health.ReportInterval = TimeSpan.FromMilliseconds(200);
        o.Health.AgentPort = -1;
    }

    public static Uri WsUri(WebApplication gateway)
    {
        string http = GatewayHost.Urls(gateway).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        return new Uri("ws" + http[4..] + "/ws");
    }

    /// <summary>Starts a built gateway and waits until its <c>/readyz</c> answers 200 (at most 200 tries 50 ms apart).</summary>
    public static async Task<WebApplication> StartUntilReadyAsync(WebApplication gateway, CancellationToken token = default)
    {
        await gateway.StartAsync(token);
        using var http = new HttpClient();
        string url = GatewayHost.Urls(gateway).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        for (int i = 0; i < 200 && (await http.GetAsync(url + "/readyz", token)).StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(50, token);
        }

        return gateway;
    }
}
