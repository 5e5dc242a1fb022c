using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Relay.CoreSim;
using Relay.Gateway.EdgeHttp.Cache;
using Relay.Testing;
using Relay.Testing.Network;

namespace Relay.Gateway.Tests.EdgeHttp.Cache;

/// <summary>
/// Fleet-wide purge (issue 18): a real core-sim's <c>POST /v1/cache/purge</c> sends a <c>cache-purge</c> order over the
/// backhaul control channel to two real linked gateways, and each purges its own edge cache.
/// </summary>
[NonParallelizable]
public sealed class FleetPurgeEndToEndTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task CorePurge_ReachesEveryLinkedRelay_AndPurgesThatPrefixOnly(CancellationToken token)
    {
        string dir = TempFolders.Create("relay-fleet-purge-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        var gateways = new List<WebApplication>();
        await using var core = await CoreSimHost.StartAsync(
            o =>
            {
                o.BindAddress = "127.0.0.1";
                o.HttpPort = 0;
                o.BackhaulPort = 0;
                o.SharedKey = GatewayFixture.SharedKey;
                o.PublicKeyPath = publicKey;
            },
            token);
        try
        {
            foreach (string id in new[] { "edge-1", "edge-2" })
            {
                var app = GatewayHost.Build([], o => EndToEnd.RegionalRelay(o, id, "local", Ports.Free(), publicKey, "gw-admin", core.BackhaulPort));
                gateways.Add(app);
                await EndToEnd.StartUntilReadyAsync(app, token);
                var store = app.Services.GetRequiredService<EdgeCacheStore>();
                await Seed(store, "/assets/app.js", token);
                await Seed(store, "/assets/css/chat.css", token);
                await Seed(store, "/widget.js", token);
            }

            using var http = new HttpClient();
            using var anonymous = await http.PostAsync(new Uri(core.HttpUri, "/v1/cache/purge?prefix=/assets/"), null, token);
            http.DefaultRequestHeaders.Authorization = new("Bearer", core.AdminKey);
            using var bad = await http.PostAsync(new Uri(core.HttpUri, "/v1/cache/purge?prefix=assets"), null, token);
            using var purge = await http.PostAsync(new Uri(core.HttpUri, "/v1/cache/purge?prefix=/assets/"), null, token);
            using var answer = JsonDocument.Parse(await purge.Content.ReadAsStringAsync(token));

            var stores = gateways.Select(g => g.Services.GetRequiredService<EdgeCacheStore>()).ToList();
            for (int i = 0; i < 200 && stores.Any(s => s.Count != 1); i++)
            {
                await Task.Delay(50, token); // bounded: the order crosses the backhaul
            }

            Assert.Multiple(() =>
            {
                Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
                Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
                Assert.That(purge.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
                Assert.That(answer.RootElement.GetProperty("command").GetString(), Is.EqualTo("cache-purge"));
                Assert.That(answer.RootElement.GetProperty("sentTo").EnumerateArray().Select(e => e.GetString()), Is.EquivalentTo(new[] { "edge-1", "edge-2" }));
                Assert.That(stores.Select(s => s.Count), Is.All.EqualTo(1), "only /widget.js is left on each relay");
            });
        }
        finally
        {
            foreach (var app in gateways)
            {
                await app.StopAsync(CancellationToken.None);
                await app.DisposeAsync();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>An entry as output caching stores one: its path prefixes as tags.</summary>
    private static async Task Seed(EdgeCacheStore store, string path, CancellationToken token)
    {
        var tags = new List<string>();
        EdgeCacheTags.AddPathTags(tags, path);
        await store.SetAsync("GET\u001eHTTP\u001eRELAY" + path, new byte[64], [.. tags], TimeSpan.FromHours(1), token);
    }
}
