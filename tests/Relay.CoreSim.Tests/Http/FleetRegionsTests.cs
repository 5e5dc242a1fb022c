using System.Net;
using System.Text.Json;
using Relay.CoreSim.Sessions;
using Relay.Testing;

namespace Relay.CoreSim.Tests.Http;

/// <summary>
/// Issue 17 in core-sim alone (no relay connected): GET /fleet's regions (from the regions file, else the relays' reports)
/// and steering decisions (each negotiate answer), the rebalance endpoint's refusals, and the dashboard's sections. With
/// real gateways: tests/Relay.Gateway.Tests/Health/RebalanceEndToEndTests.cs.
/// </summary>
[TestFixture]
public sealed class FleetRegionsTests
{
    [Test]
    public async Task Fleet_WithARegionsFile_ShowsItsRegions_AndRecordsANegotiateDecision()
    {
        string dir = TempFolders.Create("relay-fleet-regions-");
        try
        {
            string path = Path.Combine(dir, "regions.json");
            File.WriteAllText(path, """
                { "regions": [
                  { "name": "sg", "subnets": ["10.71.1.0/24"], "fallback": ["syd"], "relays": [{ "id": "sg-1", "address": "10.71.0.2", "url": "ws://10.71.0.2:8080/ws" }] },
                  { "name": "syd", "subnets": ["10.72.1.0/24"], "fallback": ["sg"], "relays": [{ "id": "syd-1", "address": "10.72.0.2", "url": "ws://10.72.0.2:8080/ws" }] } ] }
                """);
            await using var host = await CoreSimFixture.StartAsync(o => o.RegionsFile = path);

            var before = await CoreSimFixture.GetAsync(host, "/fleet");
            await CoreSimFixture.GetAsync(host, "/v1/negotiate?region=syd");
            var fleet = await CoreSimFixture.GetAsync(host, "/fleet");

            var sg = fleet.GetProperty("regions")[0];
            var decision = fleet.GetProperty("steering")[0];
            Assert.Multiple(() =>
            {
                Assert.That(before.GetProperty("steering").GetArrayLength(), Is.Zero);
                Assert.That(fleet.GetProperty("regions").EnumerateArray().Select(r => r.GetProperty("name").GetString()), Is.EqualTo(new[] { "sg", "syd" }));
                Assert.That(sg.GetProperty("source").GetString(), Is.EqualTo("regions file"));
                Assert.That(sg.GetProperty("fallback")[0].GetString(), Is.EqualTo("syd"));
                Assert.That(sg.GetProperty("subnets")[0].GetString(), Is.EqualTo("10.71.1.0/24"));
                Assert.That(sg.GetProperty("relays")[0].GetProperty("id").GetString(), Is.EqualTo("sg-1"));
                Assert.That(sg.GetProperty("relays")[0].GetProperty("state").GetString(), Is.EqualTo("unreachable"));
                Assert.That(sg.GetProperty("users").GetInt64(), Is.Zero);
                Assert.That(sg.GetProperty("usersAway").GetInt32(), Is.Zero);
                Assert.That(sg.GetProperty("ready").GetBoolean(), Is.False);
                Assert.That(fleet.GetProperty("steering").GetArrayLength(), Is.EqualTo(1));
                Assert.That(decision.GetProperty("region").GetString(), Is.EqualTo("syd"));
                Assert.That(decision.GetProperty("how").GetString(), Is.EqualTo("?region="));
                Assert.That(decision.GetProperty("from").GetString(), Is.EqualTo("127.0.0.0/24"));
                Assert.That(decision.GetProperty("relays").GetArrayLength(), Is.Zero);
                Assert.That(decision.GetProperty("servedBy").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(decision.GetProperty("leftOut").EnumerateArray().Select(l => (l.GetProperty("id").GetString(), l.GetProperty("region").GetString(), l.GetProperty("why").GetString())),
                    Is.EqualTo(new[] { ("sg-1", "sg", "not connected"), ("syd-1", "syd", "not connected") }));
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task Fleet_WithoutARegionsFile_HasNoRegionsUntilARelayReportsOne_AndSaysSoInTheDecision()
    {
        await using var host = await CoreSimFixture.StartAsync();

        await CoreSimFixture.GetAsync(host, "/v1/negotiate");
        var fleet = await CoreSimFixture.GetAsync(host, "/fleet");

        Assert.That(fleet.GetProperty("regions").GetArrayLength(), Is.Zero);
        Assert.That(fleet.GetProperty("steering")[0].GetProperty("how").GetString(), Is.EqualTo("no regions file"));
    }

    [Test]
    public async Task Steering_KeepsTheLast100Decisions_NewestFirst()
    {
        await using var host = await CoreSimFixture.StartAsync();
        using var http = new HttpClient { BaseAddress = host.HttpUri };

        for (int i = 0; i < 105; i++)
        {
            (await http.GetAsync("/v1/negotiate")).EnsureSuccessStatusCode();
        }

        (await http.GetAsync("/v1/negotiate?region=last")).EnsureSuccessStatusCode();
        var steering = (await CoreSimFixture.GetAsync(host, "/fleet")).GetProperty("steering");

        Assert.That(steering.GetArrayLength(), Is.EqualTo(100));
        Assert.That(steering[0].GetProperty("region").GetString(), Is.EqualTo("last"));
    }

    [Test]
    public async Task Rebalance_NeedsTheAdminKey_AndARegionsFile()
    {
        await using var host = await CoreSimFixture.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = host.HttpUri };
        using var admin = CoreSimFixture.Admin(host);

        using var refused = await anonymous.PostAsync("/v1/regions/sg/rebalance", null);
        using var noFile = await admin.PostAsync("/v1/regions/sg/rebalance", null);

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(noFile.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(await noFile.Content.ReadAsStringAsync(), Does.Contain("no regions file"));
    }

    [Test]
    public async Task Dashboard_HasTheRegionsAndSteeringSections_AndTheRebalanceAction()
    {
        await using var host = await CoreSimFixture.StartAsync();
        using var http = new HttpClient { BaseAddress = host.HttpUri };

        string page = await http.GetStringAsync("/");

        Assert.That(page, Does.Contain("<section class=\"card\" id=\"regions\">").And.Contain("<ul id=\"steering\">").And.Contain("'/v1/regions/' + encodeURIComponent(region) + '/rebalance'"));
    }

    [TestCase("10.71.1.5:50123", "10.71.1.5")]
    [TestCase("::1:50123", "::1")]
    [TestCase("2001:db8::7:443", "2001:db8::7")]
    [TestCase("[2001:db8::7]:443", "2001:db8::7")]
    [TestCase("10.71.1.5", "10.71.1.5")]
    [TestCase("relay-7:443", null)]
    [TestCase("", null)]
    public void ClientAddress_FromTheGatewaysOpenInfo_Parses(string text, string? expected)
    {
        Assert.That(MuxStreamTransport.ParseAddress(text), Is.EqualTo(expected is null ? null : IPAddress.Parse(expected)));
    }
}
