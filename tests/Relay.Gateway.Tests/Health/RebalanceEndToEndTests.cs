using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Relay.CoreSim;
using Relay.Gateway.Health;
using Relay.Testing;
using Relay.Testing.Network;

namespace Relay.Gateway.Tests.Health;

/// <summary>
/// Issue 17's regions in core-sim's fleet view and the operator's rebalance, with a real core-sim (regions file: sg
/// 127.0.1.0/24, syd 127.0.2.0/24, us 127.0.3.0/24) and real gateways sg-1 and syd-1 (us-1 never starts) in process, and
/// real websocket sessions from chosen loopback source addresses: sg users that failed over to syd-1, syd users at home.
/// </summary>
[NonParallelizable]
public sealed class RebalanceEndToEndTests
{
    private const string GatewayAdminKey = "rebalance-gateway-admin-key";

    [Test]
    [CancelAfter(90_000)]
    public async Task Fleet_ShowsRegionsRelaysWhereUsersAreAndTheSteeringDecisions(CancellationToken token)
    {
        await using var lab = await Lab.StartAsync(token);
        var sessions = new List<ClientWebSocket>();
        try
        {
            sessions.Add(await lab.OpenSessionAsync(lab.Gateway("sg-1"), IPAddress.Parse("127.0.1.20"), "sg-home", token));
            for (int i = 0; i < 3; i++)
            {
                sessions.Add(await lab.OpenSessionAsync(lab.Gateway("syd-1"), IPAddress.Parse($"127.0.1.{10 + i}"), $"sg-away-{i}", token));
            }

            sessions.Add(await lab.OpenSessionAsync(lab.Gateway("syd-1"), IPAddress.Parse("127.0.2.10"), "syd-home", token));

            var fleet = await lab.FleetUntilAsync(f => Region(f, "syd").GetProperty("users").GetInt64() == 4 && Region(f, "sg").GetProperty("users").GetInt64() == 1, token);
            var sg = Region(fleet, "sg");
            var syd = Region(fleet, "syd");
            var us = Region(fleet, "us");
            Assert.Multiple(() =>
            {
                Assert.That(fleet.GetProperty("regions").EnumerateArray().Select(r => r.GetProperty("name").GetString()), Is.EqualTo(new[] { "sg", "syd", "us" }), "the regions file's order");
                Assert.That(sg.GetProperty("source").GetString(), Is.EqualTo("regions file"));
                Assert.That(sg.GetProperty("fallback").EnumerateArray().Select(f => f.GetString()), Is.EqualTo(new[] { "syd", "us" }));
                Assert.That(Relays(sg), Is.EqualTo(new[] { ("sg-1", "healthy", 1L) }));
                Assert.That(Relays(syd), Is.EqualTo(new[] { ("syd-1", "healthy", 4L) }));
                Assert.That(Relays(us), Is.EqualTo(new[] { ("us-1", "unreachable", 0L) }), "a relay of the file that never connected");
                Assert.That(sg.GetProperty("ready").GetBoolean(), Is.True);
                Assert.That(us.GetProperty("ready").GetBoolean(), Is.False);
                Assert.That(sg.GetProperty("usersAway").GetInt32(), Is.EqualTo(3), "sg's users on other regions' relays");
                Assert.That(sg.GetProperty("away").GetProperty("syd-1").GetInt32(), Is.EqualTo(3));
                Assert.That(syd.GetProperty("usersAway").GetInt32(), Is.Zero);
            });

            // A negotiate call from an sg address, and one asking for syd: both recorded, newest first.
            using (var http = LoopbackHttp.From(IPAddress.Parse("127.0.1.77")))
            {
                (await http.GetAsync(lab.CoreUrl("/v1/negotiate"), token)).EnsureSuccessStatusCode();
                (await http.GetAsync(lab.CoreUrl("/v1/negotiate?region=syd"), token)).EnsureSuccessStatusCode();
            }

            var steering = (await lab.FleetAsync(token)).GetProperty("steering");
            var asked = steering[0];
            var byAddress = steering[1];
            Assert.Multiple(() =>
            {
                Assert.That(byAddress.GetProperty("region").GetString(), Is.EqualTo("sg"));
                Assert.That(byAddress.GetProperty("how").GetString(), Is.EqualTo("address"));
                Assert.That(byAddress.GetProperty("subnet").GetString(), Is.EqualTo("127.0.1.0/24"));
                Assert.That(byAddress.GetProperty("from").GetString(), Is.EqualTo("127.0.1.0/24"), "the caller's /24, never the whole address");
                Assert.That(byAddress.GetProperty("servedBy").GetString(), Is.EqualTo("sg"));
                Assert.That(byAddress.GetProperty("relays").EnumerateArray().Select(r => r.GetString()), Is.EqualTo(new[] { "sg-1", "syd-1" }));
                Assert.That(LeftOut(byAddress), Is.EqualTo(new[] { ("us-1", "not connected") }));
                Assert.That(byAddress.GetProperty("at").GetDateTimeOffset(), Is.GreaterThan(DateTimeOffset.UtcNow.AddMinutes(-1)));
                Assert.That(asked.GetProperty("how").GetString(), Is.EqualTo("?region="));
                Assert.That(asked.GetProperty("region").GetString(), Is.EqualTo("syd"));
                Assert.That(asked.GetProperty("relays").EnumerateArray().Select(r => r.GetString()), Is.EqualTo(new[] { "syd-1", "sg-1" }));
            });

            // A draining relay is left out, and the decision says so.
            await lab.DrainAsync("sg-1", token);
            await lab.FleetUntilAsync(f => Relays(Region(f, "sg"))[0].State == "draining", token);
            using (var http = LoopbackHttp.From(IPAddress.Parse("127.0.1.78")))
            {
                (await http.GetAsync(lab.CoreUrl("/v1/negotiate"), token)).EnsureSuccessStatusCode();
            }

            var drained = (await lab.FleetAsync(token)).GetProperty("steering")[0];
            Assert.That(drained.GetProperty("servedBy").GetString(), Is.EqualTo("syd"), "sg has no healthy relay: its fallback");
            Assert.That(LeftOut(drained), Is.EqualTo(new[] { ("sg-1", "draining"), ("us-1", "not connected") }));
        }
        finally
        {
            sessions.ForEach(s => s.Dispose());
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Rebalance_ClosesOnlyTheRegionsUsersWith4001_InBatches_AndTheRelayKeepsTakingSessions(CancellationToken token)
    {
        await using var lab = await Lab.StartAsync(token);
        var sydGateway = lab.Gateway("syd-1");
        var away = new List<ClientWebSocket>();
        var home = new List<ClientWebSocket>();
        try
        {
            for (int i = 0; i < 5; i++)
            {
                away.Add(await lab.OpenSessionAsync(sydGateway, IPAddress.Parse($"127.0.1.{10 + i}"), $"sg-away-{i}", token));
            }

            for (int i = 0; i < 2; i++)
            {
                home.Add(await lab.OpenSessionAsync(sydGateway, IPAddress.Parse($"127.0.2.{10 + i}"), $"syd-home-{i}", token));
            }

            var sgHome = await lab.OpenSessionAsync(lab.Gateway("sg-1"), IPAddress.Parse("127.0.1.30"), "sg-home", token);
            home.Add(sgHome);
            await lab.FleetUntilAsync(f => Region(f, "sg").GetProperty("usersAway").GetInt32() == 5, token);

            // The core's endpoint is an operator's: the admin key, a region of the file, one with a healthy relay.
            using (var anonymous = new HttpClient())
            {
                Assert.That((await anonymous.PostAsync(lab.CoreUrl("/v1/regions/sg/rebalance"), null, token)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            }

            using var admin = lab.CoreAdmin();
            Assert.That((await admin.PostAsync("/v1/regions/mars/rebalance", null, token)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            using (var us = await admin.PostAsync("/v1/regions/us/rebalance", null, token))
            {
                Assert.That(us.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
                Assert.That(await us.Content.ReadAsStringAsync(token), Does.Contain("us has no healthy relay"));
            }

            Assert.That(away.Concat(home).All(s => s.State == WebSocketState.Open), Is.True, "refused rebalances moved nobody");

            using var response = await admin.PostAsync("/v1/regions/sg/rebalance", null, token);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(token);
            Assert.That(body.GetProperty("sentTo").EnumerateArray().Select(e => (e.GetProperty("relayId").GetString(), e.GetProperty("sessions").GetInt32())), Is.EqualTo(new[] { ("syd-1", 5) }), "only the relay outside sg holding sg's users");

            // Every sg user on syd-1 is closed with 4001 (reconnect now), in batches of DrainBatchSize (2): 2, 2, 1.
            foreach (var session in away)
            {
                Assert.That(await CloseStatusAsync(session, token), Is.EqualTo(4001));
            }

            var rebalancer = sydGateway.Services.GetRequiredService<Rebalancer>();
            await rebalancer.Moving.WaitAsync(token);
            var status = rebalancer.Describe()!;
            Assert.Multiple(() =>
            {
                Assert.That((status.Region, status.SessionsToMove, status.SessionsMoved, status.Batches), Is.EqualTo(("sg", 5, 5, 3)));
                Assert.That(status.Finished, Is.Not.Null);
                Assert.That(sydGateway.Services.GetRequiredService<DrainController>().IsDraining, Is.False, "a rebalance is no drain");
            });

            // The others stay: syd's own users on syd-1 and sg's user on sg-1 still chat.
            foreach (var session in home)
            {
                Assert.That(session.State, Is.EqualTo(WebSocketState.Open));
                await EchoAsync(session, token);
            }

            // syd-1 still takes new sessions, from any region.
            using var newcomer = await lab.OpenSessionAsync(sydGateway, IPAddress.Parse("127.0.1.40"), "sg-new", token);
            await EchoAsync(newcomer, token);
            using (var http = new HttpClient())
            {
                Assert.That((await http.GetAsync(Lab.HttpUrl(sydGateway) + "/readyz", token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
                var gatewayStatus = await http.GetFromJsonAsync<JsonElement>(Lab.HttpUrl(sydGateway) + "/status", token);
                Assert.That(gatewayStatus.GetProperty("rebalance").GetProperty("sessionsMoved").GetInt32(), Is.EqualTo(5));
                Assert.That(gatewayStatus.GetProperty("health").GetProperty("drain").GetProperty("lastCoreCommand").GetString(), Is.EqualTo("rebalance sg: 5 sessions moved home in 3 batches"));
            }
        }
        finally
        {
            away.Concat(home).ToList().ForEach(s => s.Dispose());
        }
    }

    private static JsonElement Region(JsonElement fleet, string name) => fleet.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("name").GetString() == name);

    private static List<(string Id, string State, long Sessions)> Relays(JsonElement region) =>
        [.. region.GetProperty("relays").EnumerateArray().Select(r => (r.GetProperty("id").GetString()!, r.GetProperty("state").GetString()!, r.GetProperty("sessions").GetInt64()))];

    private static List<(string, string)> LeftOut(JsonElement decision) =>
        [.. decision.GetProperty("leftOut").EnumerateArray().Select(r => (r.GetProperty("id").GetString()!, r.GetProperty("why").GetString()!))];

    /// <summary>Reads until the close frame; its status code.</summary>
    private static async Task<int?> CloseStatusAsync(ClientWebSocket socket, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        for (int i = 0; i < 1000; i++)
        {
            var r = await socket.ReceiveAsync(buffer, token);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                return (int?)socket.CloseStatus;
            }
        }

        return null;
    }

    /// <summary>Sends a message without a room (core-sim echoes it) and reads the echo.</summary>
    private static async Task EchoAsync(ClientWebSocket socket, CancellationToken token)
    {
        string body = $"ping-{Guid.NewGuid():N}";
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "msg", seq = NextSeq(socket), body }), WebSocketMessageType.Text, true, token);
        for (int i = 0; i < 100; i++)
        {
            var (type, data) = await GatewayFixture.ReceiveAsync(socket, token);
            Assert.That(type, Is.EqualTo(WebSocketMessageType.Text));
            using var doc = JsonDocument.Parse(data);
            if (doc.RootElement.GetProperty("type").GetString() == "msg" && doc.RootElement.GetProperty("body").GetString() == body)
            {
                return;
            }
        }

        Assert.Fail("no echo");
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ClientWebSocket, StrongBox> s_seqs = [];

    private static long NextSeq(ClientWebSocket socket) => Interlocked.Increment(ref s_seqs.GetOrCreateValue(socket).Value);

    private sealed class StrongBox
    {
        public long Value;
    }

    /// <summary>core-sim with the regions file and gateways sg-1 and syd-1 (us-1 is in the file, never started).</summary>
    private sealed class Lab : IAsyncDisposable
    {
        private readonly string _dir;

        private Lab(string dir, CoreSimHost core, List<(string Id, WebApplication App)> gateways)
        {
            _dir = dir;
            Core = core;
            Gateways = gateways;
        }

        public CoreSimHost Core { get; }

        public List<(string Id, WebApplication App)> Gateways { get; }

        public WebApplication Gateway(string id) => Gateways.Single(g => g.Id == id).App;

        public string CoreUrl(string path) => new Uri(Core.HttpUri, path).ToString();

        public static string HttpUrl(WebApplication gateway) => GatewayHost.Urls(gateway).First(u => u.StartsWith("http://", StringComparison.Ordinal));

        public HttpClient CoreAdmin()
        {
            var http = new HttpClient { BaseAddress = Core.HttpUri };
            http.DefaultRequestHeaders.Authorization = new("Bearer", Core.AdminKey);
            return http;
        }

        public static async Task<Lab> StartAsync(CancellationToken token)
        {
            string dir = TempFolders.Create("relay-rebalance-");
            string publicKey = Path.Combine(dir, "core-public.pem");
            (string Id, string Region, int Port)[] relays = [("sg-1", "sg", Ports.Free()), ("syd-1", "syd", Ports.Free()), ("us-1", "us", Ports.Free())];
            string Relay(string region) => string.Join(",", relays.Where(r => r.Region == region).Select(r => $$"""{"id":"{{r.Id}}","address":"127.0.0.1","url":"ws://127.0.0.1:{{r.Port}}/ws"}"""));
            string regionsPath = Path.Combine(dir, "regions.json");
            File.WriteAllText(regionsPath, $$"""
                { "regions": [
                  { "name": "sg", "subnets": ["127.0.1.0/24"], "fallback": ["syd", "us"], "relays": [{{Relay("sg")}}] },
                  { "name": "syd", "subnets": ["127.0.2.0/24"], "fallback": ["sg", "us"], "relays": [{{Relay("syd")}}] },
                  { "name": "us", "subnets": ["127.0.3.0/24"], "fallback": ["syd"], "relays": [{{Relay("us")}}] } ] }
                """);
            CoreSimHost core;
            try
            {
                core = await CoreSimHost.StartAsync(o =>
                {
                    o.BindAddress = "127.0.0.1";
                    o.HttpPort = 0;
                    o.BackhaulPort = 0;
                    o.SharedKey = GatewayFixture.SharedKey;
                    o.PublicKeyPath = publicKey;
                    o.RegionsFile = regionsPath;
                    o.FleetBroadcastInterval = TimeSpan.FromMilliseconds(200);
                }, token);
            }
            catch
            {
                Directory.Delete(dir, recursive: true);
                throw;
            }

            var lab = new Lab(dir, core, []);
            try
            {
                foreach (var (id, region, port) in relays.Where(r => r.Id != "us-1"))
                {
                    var app = GatewayHost.Build([], o =>
                    {
                        EndToEnd.RegionalRelay(o, id, region, port, publicKey, GatewayAdminKey, core.BackhaulPort);
                        o.Health.DrainBatchSize = 2;
                        o.Health.DrainBatchInterval = TimeSpan.FromMilliseconds(50);
                    });
                    lab.Gateways.Add((id, app));
                    await EndToEnd.StartUntilReadyAsync(app, token);
                }

                await lab.FleetUntilAsync(f => f.GetProperty("regions").EnumerateArray().Count(r => r.GetProperty("ready").GetBoolean()) == 2, token);
                foreach (var (_, app) in lab.Gateways)
                {
                    var drain = app.Services.GetRequiredService<DrainController>();
                    for (int i = 0; i < 200 && drain.Fleet?.Regions is not { Count: 3 }; i++)
                    {
                        await Task.Delay(50, token); // the fleet view with the region routes reaches each relay
                    }
                }
            }
            catch
            {
                await lab.DisposeAsync();
                throw;
            }

            return lab;
        }

        /// <summary>A session from <paramref name="from"/> through <paramref name="gateway"/>, up to the welcome.</summary>
        public async Task<ClientWebSocket> OpenSessionAsync(WebApplication gateway, IPAddress from, string sub, CancellationToken token)
        {
            var socket = new ClientWebSocket();
            try
            {
                string accessToken = Core.Tokens.Issue(sub, "s1", "visitor", TimeSpan.FromHours(1)).Token;
                using var invoker = new HttpMessageInvoker(LoopbackHttp.Handler(from));
                await socket.ConnectAsync(new Uri($"{EndToEnd.WsUri(gateway)}?access_token={Uri.EscapeDataString(accessToken)}"), invoker, token);
                await socket.SendAsync("""{"type":"hello"}"""u8.ToArray(), WebSocketMessageType.Text, true, token);
                var (_, data) = await GatewayFixture.ReceiveAsync(socket, token);
                Assert.That(Encoding.UTF8.GetString(data), Does.Contain("\"welcome\""));
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        public async Task<JsonElement> FleetAsync(CancellationToken token)
        {
            using var http = new HttpClient { BaseAddress = Core.HttpUri };
            return await http.GetFromJsonAsync<JsonElement>("/fleet", token);
        }

        /// <summary>GET /fleet until <paramref name="done"/> (at most 300 tries 50 ms apart); fails with the last document.</summary>
        public async Task<JsonElement> FleetUntilAsync(Func<JsonElement, bool> done, CancellationToken token)
        {
            JsonElement fleet = default;
            for (int i = 0; i < 300; i++)
            {
                fleet = await FleetAsync(token);
                if (done(fleet))
                {
                    return fleet;
                }

                await Task.Delay(50, token);
            }

            Assert.Fail($"/fleet never got there: {fleet}");
            return fleet;
        }

        public async Task DrainAsync(string id, CancellationToken token)
        {
            using var http = new HttpClient();
            using var drain = new HttpRequestMessage(HttpMethod.Post, HttpUrl(Gateway(id)) + "/admin/drain?force=true");
            drain.Headers.Authorization = new("Bearer", GatewayAdminKey);
            (await http.SendAsync(drain, token)).EnsureSuccessStatusCode();
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var (_, app) in Gateways)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }

            await Core.DisposeAsync();
            Directory.Delete(_dir, recursive: true);
        }
    }
}
