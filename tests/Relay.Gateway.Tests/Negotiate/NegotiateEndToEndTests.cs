using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Relay.CoreSim;
using Relay.Testing;
using Relay.Testing.Network;

namespace Relay.Gateway.Tests.Negotiate;

/// <summary>
/// Issue 17's negotiate with a real core-sim and real gateways on loopback: the caller's source address (127.0.x.y,
/// bound by the HTTP client) picks its region from the regions file; the core and every gateway answer alike.
/// </summary>
[NonParallelizable]
public sealed class NegotiateEndToEndTests
{
    private static readonly IPAddress s_sgUser = IPAddress.Parse("127.0.1.5");
    private static readonly IPAddress s_sydUser = IPAddress.Parse("127.0.2.5");
    private static readonly IPAddress s_nowhere = IPAddress.Parse("127.0.9.5");

    [Test]
    [CancelAfter(90_000)]
    public async Task CoreAndGateways_OrderByTheCallersRegion_LeaveOutMissingAndDrainingRelays(CancellationToken token)
    {
        await using var lab = await Lab.StartAsync(token);

        // From an sg address: sg's two relays, then syd's (sg's fallback). us-1 is in the file but never connected.
        var sg = await lab.WaitForAsync(lab.CoreUrl, s_sgUser, ids => ids.Count == 3, token);
        Assert.Multiple(() =>
        {
            Assert.That(sg.GetProperty("region").GetString(), Is.EqualTo("sg"));
            Assert.That(sg.GetProperty("reason").GetString(), Is.EqualTo("address 127.0.1.5 is in sg (127.0.1.0/24)"));
            Assert.That(Ids(sg).Take(2), Is.EquivalentTo(new[] { "sg-1", "sg-2" }));
            Assert.That(Ids(sg)[2], Is.EqualTo("syd-1"));
            Assert.That(sg.GetProperty("relays")[0].GetProperty("url").GetString(), Does.StartWith("ws://127.0.0.1:").And.EndWith("/ws"));
            Assert.That(sg.GetProperty("relays")[0].GetProperty("state").GetString(), Is.EqualTo("healthy"));
            Assert.That(sg.GetProperty("token").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });

        // From a syd address: syd first, then sg's.
        var syd = await lab.GetAsync(lab.CoreUrl, s_sydUser, token);
        Assert.That(syd.GetProperty("region").GetString(), Is.EqualTo("syd"));
        Assert.That(Ids(syd)[0], Is.EqualTo("syd-1"));
        Assert.That(Ids(syd).Skip(1), Is.EquivalentTo(new[] { "sg-1", "sg-2" }));

        // ?region= wins over the address; an unknown one is a 400.
        var asked = await lab.GetAsync(lab.CoreUrl + "?region=syd", s_sgUser, token);
        Assert.That(Ids(asked)[0], Is.EqualTo("syd-1"));
        using (var http = LoopbackHttp.From(s_sgUser))
        {
            Assert.That((await http.GetAsync(lab.CoreUrl + "?region=mars", token)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        }

        // Every gateway answers what the core answers, from the fleet view: here sg-2 and syd-1 for an sg user.
        foreach (var gateway in lab.Gateways)
        {
            var mirrored = await lab.WaitForAsync(lab.NegotiateUrl(gateway), s_sgUser, ids => ids.Count == 3, token);
            Assert.That(mirrored.GetProperty("region").GetString(), Is.EqualTo("sg"));
            Assert.That(Ids(mirrored).Take(2), Is.EquivalentTo(new[] { "sg-1", "sg-2" }));
            Assert.That(Ids(mirrored)[2], Is.EqualTo("syd-1"));
            Assert.That(mirrored.GetProperty("token").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(mirrored.GetProperty("tokenUrl").GetString(), Is.EqualTo(lab.CoreUrl));
        }

        // An address in no subnet: on a gateway its own region (syd-1 is in syd), on the core the first region (sg).
        var fromSydGateway = await lab.GetAsync(lab.NegotiateUrl(lab.Gateways[2]), s_nowhere, token);
        Assert.That(fromSydGateway.GetProperty("region").GetString(), Is.EqualTo("syd"));
        Assert.That(fromSydGateway.GetProperty("reason").GetString(), Does.Contain("this relay's region"));
        Assert.That((await lab.GetAsync(lab.CoreUrl, s_nowhere, token)).GetProperty("region").GetString(), Is.EqualTo("sg"));

        // Drain sg-1: it leaves the core's list and, with the next fleet view, every gateway's.
        using (var admin = new HttpClient())
        {
            using var drain = new HttpRequestMessage(HttpMethod.Post, Lab.HttpUrl(lab.Gateways[0]) + "/admin/drain?force=true");
            drain.Headers.Authorization = new("Bearer", Lab.AdminKey);
            Assert.That((await admin.SendAsync(drain, token)).IsSuccessStatusCode, Is.True);
        }

        var drained = await lab.WaitForAsync(lab.CoreUrl, s_sgUser, ids => !ids.Contains("sg-1"), token);
        Assert.That(Ids(drained), Is.EqualTo(new[] { "sg-2", "syd-1" }));
        var drainedOnGateway = await lab.WaitForAsync(lab.NegotiateUrl(lab.Gateways[2]), s_sgUser, ids => !ids.Contains("sg-1"), token);
        Assert.That(Ids(drainedOnGateway), Is.EqualTo(new[] { "sg-2", "syd-1" }));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Gateway_NotReadyItself_LeavesItselfOutOfItsOwnAnswer_EvenFromAStaleFleetView(CancellationToken token)
    {
        await using var lab = await Lab.StartAsync(token);
        var sg1 = lab.Gateways[0];
        var steady = await lab.WaitForAsync(lab.NegotiateUrl(sg1), s_sgUser, ids => ids.Count == 3, token);
        Assert.That(Ids(steady).Take(2), Is.EquivalentTo(new[] { "sg-1", "sg-2" }));

        // The core drops sg-1's links and refuses new ones: sg-1 gets no fleet view any more (its last one shows itself
        // healthy), and its backhaul signal turns it sick (/readyz 503).
        using (var admin = new HttpClient())
        {
            using var block = new HttpRequestMessage(HttpMethod.Post, new Uri(lab.Core.HttpUri, "/v1/faults/block-relay")) { Content = JsonContent.Create(new { relayId = "sg-1" }) };
            block.Headers.Authorization = new("Bearer", lab.Core.AdminKey);
            Assert.That((await admin.SendAsync(block, token)).IsSuccessStatusCode, Is.True);
            for (int i = 0; i < 200 && (await admin.GetAsync(Lab.HttpUrl(sg1) + "/readyz", token)).StatusCode != HttpStatusCode.ServiceUnavailable; i++)
            {
                await Task.Delay(50, token);
            }

            Assert.That((await admin.GetAsync(Lab.HttpUrl(sg1) + "/readyz", token)).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        }

        // sg-1's own negotiate must not send an sg user back to sg-1, which refuses sessions.
        var answer = await lab.GetAsync(lab.NegotiateUrl(sg1), s_sgUser, token);
        Assert.That(Ids(answer), Is.EqualTo(new[] { "sg-2", "syd-1" }));

        // Drained (forced: sg-1 may no longer count the others), it stays out too.
        using (var admin = new HttpClient())
        {
            using var drain = new HttpRequestMessage(HttpMethod.Post, Lab.HttpUrl(sg1) + "/admin/drain?force=true");
            drain.Headers.Authorization = new("Bearer", Lab.AdminKey);
            Assert.That((await admin.SendAsync(drain, token)).IsSuccessStatusCode, Is.True);
        }

        Assert.That(Ids(await lab.GetAsync(lab.NegotiateUrl(sg1), s_sgUser, token)), Is.EqualTo(new[] { "sg-2", "syd-1" }));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task EveryRelaySick_CoreAndGateway_AnswerTheSickRelays_NotAnEmptyList(CancellationToken token)
    {
        // Every relay's backhaul turns slow at once (a slow core): each reports sick, with its links up.
        await using var lab = await Lab.StartAsync(token, o =>
        {
            o.Backhaul.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
            o.Health.RttDegradedMs = 100;
            o.Health.RttSickMs = 150;
            o.Health.SelfDrainAfter = TimeSpan.Zero;
        });
        var sg1 = lab.Gateways[0];
        await lab.WaitForAsync(lab.CoreUrl, s_sgUser, ids => ids.Count == 3, token);
        using (var admin = new HttpClient { BaseAddress = lab.Core.HttpUri })
        {
            admin.DefaultRequestHeaders.Authorization = new("Bearer", lab.Core.AdminKey);
            foreach (string id in new[] { "sg-1", "sg-2", "syd-1" })
            {
                (await admin.PostAsJsonAsync("/v1/faults/link-latency", new { relayId = id, ms = 400 }, token)).EnsureSuccessStatusCode();
            }
        }

        foreach (string url in new[] { lab.CoreUrl, lab.NegotiateUrl(sg1) })
        {
            var answer = await lab.WaitForStatesAsync(url, s_sgUser, states => states.Count == 3 && states.All(s => s == "sick"), token);

            Assert.Multiple(() =>
            {
                Assert.That(Ids(answer), Is.EqualTo(new[] { "sg-1", "sg-2", "syd-1" }), url);
                Assert.That(answer.GetProperty("reason").GetString(), Does.EndWith("; no healthy relay anywhere, so the sick ones"), url);
            });
        }
    }

    private static List<string> Ids(JsonElement answer) => [.. answer.GetProperty("relays").EnumerateArray().Select(r => r.GetProperty("id").GetString()!)];

    /// <summary>core-sim with a regions file (sg: 127.0.1.0/24, syd: 127.0.2.0/24, us: 127.0.3.0/24) and gateways sg-1, sg-2, syd-1 (us-1 never starts).</summary>
    private sealed class Lab : IAsyncDisposable
    {
        public const string AdminKey = "negotiate-admin-key";

        private Lab(CoreSimHost core, List<WebApplication> gateways)
        {
            Core = core;
            Gateways = gateways;
        }

        public CoreSimHost Core { get; }

        public List<WebApplication> Gateways { get; }

        public string CoreUrl => new Uri(Core.HttpUri, "/v1/negotiate").ToString();

        public static string HttpUrl(WebApplication gateway) => GatewayHost.Urls(gateway).First(u => u.StartsWith("http://", StringComparison.Ordinal));

        public string NegotiateUrl(WebApplication gateway) => HttpUrl(gateway) + "/v1/negotiate";

        public static async Task<Lab> StartAsync(CancellationToken token, Action<Relay.Gateway.Configuration.GatewayOptions>? configure = null)
        {
            string dir = TempFolders.Create("relay-negotiate-");
            string publicKey = Path.Combine(dir, "core-public.pem");
            (string Id, string Region, int Port)[] relays = [("sg-1", "sg", Ports.Free()), ("sg-2", "sg", Ports.Free()), ("syd-1", "syd", Ports.Free()), ("us-1", "us", Ports.Free())];
            string Relay(string region) => string.Join(",", relays.Where(r => r.Region == region).Select(r => $$"""{"id":"{{r.Id}}","address":"127.0.0.1","url":"ws://127.0.0.1:{{r.Port}}/ws"}"""));
            string regionsPath = Path.Combine(dir, "regions.json");
            File.WriteAllText(regionsPath, $$"""
                { "hostname": "chat.relay.test.", "zone": "relay.test.", "ttl": 5, "regions": [
                  { "name": "sg", "subnets": ["127.0.1.0/24"], "fallback": ["syd", "us"], "relays": [{{Relay("sg")}}] },
                  { "name": "syd", "subnets": ["127.0.2.0/24"], "fallback": ["sg", "us"], "relays": [{{Relay("syd")}}] },
                  { "name": "us", "subnets": ["127.0.3.0/24"], "fallback": ["syd"], "relays": [{{Relay("us")}}] } ] }
                """);
            var core = await CoreSimHost.StartAsync(o =>
            {
                o.BindAddress = "127.0.0.1";
                o.HttpPort = 0;
                o.BackhaulPort = 0;
                o.SharedKey = GatewayFixture.SharedKey;
                o.PublicKeyPath = publicKey;
                o.RegionsFile = regionsPath;
                o.FleetBroadcastInterval = TimeSpan.FromMilliseconds(200);
                o.AdminKey = AdminKey;
            }, token);
            var gateways = new List<WebApplication>();
            var lab = new Lab(core, gateways);
            try
            {
                foreach (var (id, region, port) in relays.Where(r => r.Id != "us-1"))
                {
                    var app = GatewayHost.Build([], o =>
                    {
                        EndToEnd.RegionalRelay(o, id, region, port, publicKey, AdminKey, core.BackhaulPort);
                        o.Negotiate.TokenUrl = new Uri(core.HttpUri, "/v1/negotiate").ToString();
                        configure?.Invoke(o);
                    });
                    gateways.Add(app);
                    await EndToEnd.StartUntilReadyAsync(app, token);
                }
            }
            catch
            {
                await lab.DisposeAsync();
                throw;
            }

            return lab;
        }

        public async Task<JsonElement> GetAsync(string url, IPAddress from, CancellationToken token)
        {
            using var http = LoopbackHttp.From(from);
            using var response = await http.GetAsync(url, token);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), url);
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.Clone();
        }

        /// <summary>Asks until the relay ids satisfy <paramref name="done"/> (at most 200 tries 50 ms apart); the last answer either way.</summary>
        public async Task<JsonElement> WaitForAsync(string url, IPAddress from, Func<List<string>, bool> done, CancellationToken token)
        {
            JsonElement answer = default;
            for (int i = 0; i < 200; i++)
            {
                using var http = LoopbackHttp.From(from);
                using var response = await http.GetAsync(url, token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.Clone();
                    if (done(Ids(answer)))
                    {
                        return answer;
                    }
                }

                await Task.Delay(50, token);
            }

            return answer;
        }

        /// <summary>Asks until the relays' states satisfy <paramref name="done"/> (at most 600 tries 50 ms apart); the last answer either way.</summary>
        public async Task<JsonElement> WaitForStatesAsync(string url, IPAddress from, Func<List<string>, bool> done, CancellationToken token)
        {
            JsonElement answer = default;
            for (int i = 0; i < 600; i++)
            {
                answer = await GetAsync(url, from, token);
                if (done([.. answer.GetProperty("relays").EnumerateArray().Select(r => r.GetProperty("state").GetString()!)]))
                {
                    break;
                }

                await Task.Delay(50, token);
            }

            return answer;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var gateway in Gateways)
            {
                await gateway.StopAsync();
                await gateway.DisposeAsync();
            }

            await Core.DisposeAsync();
        }
    }
}
