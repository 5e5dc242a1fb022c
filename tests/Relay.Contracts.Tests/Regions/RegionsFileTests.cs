using System.Net;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;

namespace Relay.Contracts.Tests.Regions;

/// <summary>The regions file (issue 17's contract): parsed as written, refused with one line naming the problem, and its lookups.</summary>
[TestFixture]
public sealed class RegionsFileTests
{
    internal const string Sample = """
        {
          "hostname": "chat.relay.test.",   // the steered name
          "zone": "relay.test.",
          "ttl": 5,
          "regions": [
            { "name": "sg", "subnets": ["10.71.1.0/24", "10.71.0.0/16"], "fallback": ["syd", "us", "eu"],
              "relays": [ { "id": "sg-1", "address": "10.71.0.2", "url": "ws://10.71.0.2:8080/ws", "readyz": "http://10.71.0.2:8080/readyz" } ] },
            { "name": "syd", "subnets": ["10.72.1.0/24"], "fallback": ["sg", "us"],
              "relays": [ { "id": "syd-1", "address": "10.72.0.2", "url": "ws://10.72.0.2:8080/ws" } ] },
            { "name": "us", "subnets": ["10.73.1.0/24"], "fallback": ["eu"],
              "relays": [ { "id": "us-1", "address": "10.73.0.2", "url": "wss://10.73.0.2:8443/ws" } ] },
            { "name": "eu", "subnets": ["10.71.1.128/25"], "fallback": [], "relays": [] }
          ]
        }
        """;

    [Test]
    public void Parse_TheContractsExample_ReadsEveryField()
    {
        var file = RegionsFile.Parse(Sample);

        Assert.Multiple(() =>
        {
            Assert.That(file.Hostname, Is.EqualTo("chat.relay.test."));
            Assert.That(file.Zone, Is.EqualTo("relay.test."));
            Assert.That(file.Ttl, Is.EqualTo(5));
            Assert.That(file.Regions.Select(r => r.Name), Is.EqualTo(new[] { "sg", "syd", "us", "eu" }));
            Assert.That(file.Regions[0].Fallback, Is.EqualTo(new[] { "syd", "us", "eu" }));
            Assert.That(file.Regions[0].Relays.Single(), Is.EqualTo(new RegionRelay("sg-1", "10.71.0.2", "ws://10.71.0.2:8080/ws", "http://10.71.0.2:8080/readyz")));
            Assert.That(file.FindRelay("us-1")?.Region.Name, Is.EqualTo("us"));
            Assert.That(file.FindRelay("nope"), Is.Null);
        });
    }

    [TestCase("""{"regions":[{"name":"sg","subnets":[],"fallback":["mars"],"relays":[{"id":"a","address":"10.0.0.1","url":"ws://10.0.0.1/ws"}]}]}""", "region 'sg': unknown fallback region 'mars'.")]
    [TestCase("""{"regions":[{"name":"sg","subnets":[],"fallback":[],"relays":[{"id":"a","address":"10.0.0.1","url":"ws://10.0.0.1/ws"},{"id":"a","address":"10.0.0.2","url":"ws://10.0.0.2/ws"}]}]}""", "duplicate relay id 'a'.")]
    [TestCase("""{"regions":[{"name":"sg","subnets":["10.71.1.0/33"],"fallback":[],"relays":[{"id":"a","address":"10.0.0.1","url":"ws://10.0.0.1/ws"}]}]}""", "region 'sg': bad CIDR '10.71.1.0/33' (e.g. 10.71.1.0/24).")]
    [TestCase("""{"regions":[{"name":"sg","subnets":["sg-net"],"fallback":[],"relays":[{"id":"a","address":"10.0.0.1","url":"ws://10.0.0.1/ws"}]}]}""", "region 'sg': bad CIDR 'sg-net' (e.g. 10.71.1.0/24).")]
    [TestCase("""{"regions":[{"name":"sg","subnets":[],"fallback":[],"relays":[]}]}""", "no relays (every region's relays list is empty).")]
    [TestCase("""{"regions":[]}""", "no regions.")]
    [TestCase("""{"regions":[{"name":"sg","subnets":[],"fallback":[],"relays":[]},{"name":"sg","subnets":[],"fallback":[],"relays":[]}]}""", "duplicate region 'sg'.")]
    [TestCase("""{"regions":[{"name":"sg","subnets":[],"fallback":[],"relays":[{"id":"a","address":"10.0.0.1","url":"http://10.0.0.1/ws"}]}]}""", "relay 'a': url 'http://10.0.0.1/ws' must be an absolute ws:// or wss:// URL.")]
    [TestCase("""{"regions":[{"name":"sg","subnets":[],"fallback":[],"relays":[{"id":"a","address":"ten","url":"ws://10.0.0.1/ws"}]}]}""", "relay 'a': address 'ten' is not an IP address.")]
    [TestCase("""{"hostname":"chat.relay.test","regions":[{"name":"sg","subnets":[],"fallback":[],"relays":[{"id":"a","address":"10.0.0.1","url":"ws://10.0.0.1/ws"}]}]}""", "hostname 'chat.relay.test' must be a fully qualified name with the trailing dot (e.g. chat.relay.test.).")]
    public void Parse_BadFile_ThrowsOneLineNamingTheProblem(string json, string message)
    {
        var e = Assert.Throws<FormatException>(() => RegionsFile.Parse(json));

        Assert.That(e!.Message, Is.EqualTo(message));
    }

    [TestCase("{")]
    [TestCase("""{"regions":[{"name":"sg"}]}""")]
    [TestCase("null")]
    public void Parse_NotARegionsFile_ThrowsOneLine(string json)
    {
        var e = Assert.Throws<FormatException>(() => RegionsFile.Parse(json));

        Assert.That(e!.Message, Does.StartWith("not a regions file").And.Not.Contain("\n"));
    }

    [Test]
    public void Load_BadOrMissingFile_NamesThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"regions-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{"regions":[]}""");
        try
        {
            Assert.That(Assert.Throws<FormatException>(() => RegionsFile.Load(path))!.Message, Is.EqualTo($"regions file '{path}': no regions."));
        }
        finally
        {
            File.Delete(path);
        }

        Assert.That(Assert.Throws<FormatException>(() => RegionsFile.Load(path))!.Message, Is.EqualTo($"regions file '{path}': does not exist."));
    }

    [TestCase("10.71.1.5", "sg", "10.71.1.0/24")]
    [TestCase("10.71.9.5", "sg", "10.71.0.0/16")]
    [TestCase("10.71.1.200", "eu", "10.71.1.128/25")]
    [TestCase("::ffff:10.72.1.7", "syd", "10.72.1.0/24")]
    public void Map_FindsTheLongestPrefix(string address, string region, string subnet)
    {
        var map = RegionsFile.Parse(Sample).Map;

        Assert.That(map.TryFind(IPAddress.Parse(address), out string found, out string which), Is.True);
        Assert.That((found, which), Is.EqualTo((region, subnet)));
    }

    [Test]
    public void Map_AddressInNoSubnet_IsNotFound()
    {
        Assert.That(RegionsFile.Parse(Sample).Map.TryFind(IPAddress.Parse("192.0.2.1"), out _, out _), Is.False);
    }

    [Test]
    public void Map_Candidates_AreTheRegionThenItsFallbackThenTheRest()
    {
        var map = RegionsFile.Parse(Sample).Map;

        Assert.Multiple(() =>
        {
            Assert.That(map.Candidates("sg"), Is.EqualTo(new[] { "sg", "syd", "us", "eu" }));
            Assert.That(map.Candidates("us"), Is.EqualTo(new[] { "us", "eu", "sg", "syd" }));
            Assert.That(map.Candidates("mars"), Is.EqualTo(new[] { "mars" }));
        });
    }

    [Test]
    public void Negotiator_OrdersOwnRegionByWeight_ThenFallback_AndLeavesOutTheUnhealthy()
    {
        var map = RegionsFile.Parse(Sample).Map;
        FleetRelay[] fleet =
        [
            new("us-1", "us", "ws://us-1/ws", 100, 1, RelayStatus.Healthy),
            new("sg-1", "sg", "ws://sg-1/ws", 40, 9, RelayStatus.Degraded),
            new("sg-2", "sg", "ws://sg-2/ws", 90, 2, RelayStatus.Healthy),
            new("sg-3", "sg", "ws://sg-3/ws", 100, 0, RelayStatus.Draining),
            new("syd-1", "syd", "ws://syd-1/ws", 80, 3, RelayStatus.Healthy),
            new("syd-2", "syd", "ws://syd-2/ws", 100, 0, RelayStatus.Sick),
            new("syd-3", "syd", null, 100, 0, RelayStatus.Healthy),
            new("eu-1", "eu", "ws://eu-1/ws", 100, 0, RelayStatus.Unknown),
        ];

        Assert.That(Negotiator.TryAnswer(fleet, map, IPAddress.Parse("10.71.1.5"), null, null, out var answer, out _), Is.True);

        Assert.Multiple(() =>
        {
            Assert.That(answer.Region, Is.EqualTo("sg"));
            Assert.That(answer.Reason, Is.EqualTo("address 10.71.1.5 is in sg (10.71.1.0/24)"));
            Assert.That(answer.Relays.Select(r => r.Id), Is.EqualTo(new[] { "sg-2", "sg-1", "syd-1", "us-1" }));
            Assert.That(answer.Token, Is.Null);
        });
    }

    [Test]
    public void Negotiator_RegionWithoutHealthyRelays_SaysSo_AndUnknownRegionIsAnError()
    {
        var map = RegionsFile.Parse(Sample).Map;
        FleetRelay[] fleet = [new("syd-1", "syd", "ws://syd-1/ws", 80, 3, RelayStatus.Healthy)];

        Assert.That(Negotiator.TryAnswer(fleet, map, null, "sg", null, out var answer, out _), Is.True);
        Assert.That(answer.Reason, Is.EqualTo("region sg was asked for; no healthy relay in sg, so syd next"));
        Assert.That(Negotiator.TryAnswer(fleet, map, null, "mars", null, out _, out string? error), Is.False);
        Assert.That(error, Does.StartWith("unknown region 'mars'"));
    }

    [Test]
    public void Negotiator_EveryRelaySick_ListsTheSickOnes_AsDnsAnswersThemAll()
    {
        // A slow core makes every relay's backhaul sick at once: an empty list would leave every new user without a
        // relay, while DNS (ifurlup with every address down) answers all of them. Draining and unknown stay out.
        var map = RegionsFile.Parse(Sample).Map;
        FleetRelay[] fleet =
        [
            new("us-1", "us", "ws://us-1/ws", 100, 1, RelayStatus.Sick),
            new("sg-1", "sg", "ws://sg-1/ws", 40, 9, RelayStatus.Sick),
            new("sg-2", "sg", "ws://sg-2/ws", 90, 2, RelayStatus.Sick),
            new("sg-3", "sg", "ws://sg-3/ws", 100, 0, RelayStatus.Draining),
            new("syd-1", "syd", null, 80, 3, RelayStatus.Sick),
            new("eu-1", "eu", "ws://eu-1/ws", 100, 0, RelayStatus.Unknown),
            new("eu-2", "eu", "ws://eu-2/ws", 100, 0, RelayStatus.Unreachable),
        ];

        Assert.That(Negotiator.TryAnswer(fleet, map, IPAddress.Parse("10.71.1.5"), null, null, out var answer, out _), Is.True);

        Assert.Multiple(() =>
        {
            Assert.That(answer.Relays.Select(r => r.Id), Is.EqualTo(new[] { "sg-2", "sg-1", "us-1" }));
            Assert.That(answer.Relays.Select(r => r.State), Is.All.EqualTo(RelayStatus.Sick));
            Assert.That(answer.Reason, Is.EqualTo("address 10.71.1.5 is in sg (10.71.1.0/24); no healthy relay anywhere, so the sick ones"));
        });

        // One healthy relay anywhere and the sick ones are out again.
        fleet[5] = new("eu-1", "eu", "ws://eu-1/ws", 100, 0, RelayStatus.Degraded);
        Assert.That(Negotiator.TryAnswer(fleet, map, IPAddress.Parse("10.71.1.5"), null, null, out answer, out _), Is.True);
        Assert.That(answer.Relays.Select(r => r.Id), Is.EqualTo(new[] { "eu-1" }));
    }

    [Test]
    public void Negotiator_AddressInNoSubnet_TakesTheServersRegion()
    {
        var map = RegionsFile.Parse(Sample).Map;
        FleetRelay[] fleet = [new("us-1", "us", "ws://us-1/ws", 100, 1, RelayStatus.Healthy), new("syd-1", "syd", "ws://syd-1/ws", 80, 3, RelayStatus.Healthy)];

        Assert.That(Negotiator.TryAnswer(fleet, map, IPAddress.Parse("192.0.2.1"), null, "syd", out var answer, out _), Is.True);
        Assert.That(answer.Region, Is.EqualTo("syd"));
        Assert.That(answer.Relays.Select(r => r.Id), Is.EqualTo(new[] { "syd-1", "us-1" }));
    }

    [Test]
    public void NegotiateResponse_WireNames_AreTheContracts()
    {
        var json = new NegotiateResponse("sg", "why", [new NegotiateRelay("sg-1", "sg", "ws://x/ws", 100, RelayStatus.Healthy, 12)]).ToJson();

        Assert.That(json, Is.EqualTo("""{"region":"sg","reason":"why","relays":[{"id":"sg-1","region":"sg","url":"ws://x/ws","weight":100,"state":"healthy","sessions":12}],"token":null,"tokenUrl":null}"""));
        Assert.That(NegotiateResponse.TryParse(System.Text.Encoding.UTF8.GetBytes(json))!.Relays.Single().Id, Is.EqualTo("sg-1"));
    }
}
