using System.Text.Json;
using Relay.Contracts.Regions;

namespace Relay.Regions.Tests;

/// <summary>The regions file's validation: every broken rule is one line naming the region, relay or value.</summary>
public sealed class RegionsFileTests
{
    public static RegionsFile Valid { get; } = new(Hostname: "chat.relay.test.", Zone: "relay.test.", Ttl: 5, Regions:
    [
        new Region("sg", ["10.71.1.0/24"], ["syd"], [new RegionRelay("sg-1", "10.71.0.2", "ws://10.71.0.2:8080/ws", "http://10.71.0.2:8080/readyz")]),
        new Region("syd", ["10.71.2.0/24", "2001:db8:2::/48"], ["sg"], [new RegionRelay("syd-1", "10.72.0.2", "wss://syd-1.relay.test/ws", "https://syd-1.relay.test/readyz")]),
    ]);

    private static IEnumerable<TestCaseData> Broken()
    {
        var sg = Valid.Regions[0];
        var syd = Valid.Regions[1];
        RegionsFile With(Region first) => Valid with { Regions = [first, syd] };
        RegionRelay relay = sg.Relays[0];
        yield return Case(With(sg with { Fallback = ["syd", "mars"] }), "region 'sg': unknown fallback region 'mars'");
        yield return Case(Valid with { Regions = [sg, syd with { Relays = [syd.Relays[0], relay] }] }, "region 'syd': duplicate relay id 'sg-1'");
        yield return Case(With(sg with { Subnets = ["10.71.1.5/24"] }), "region 'sg': bad CIDR '10.71.1.5/24'");
        yield return Case(With(sg with { Subnets = ["10.71.1.0/33"] }), "region 'sg': bad CIDR '10.71.1.0/33'");
        yield return Case(With(sg with { Subnets = ["sg-users"] }), "region 'sg': bad CIDR 'sg-users'");
        yield return Case(With(sg with { Subnets = ["10.71.1.0"] }), "region 'sg': bad CIDR '10.71.1.0'");
        yield return Case(With(sg with { Subnets = ["10.71.2.0/24"] }), "region 'syd': subnet 10.71.2.0/24 is also in region 'sg'");
        yield return Case(Valid with { Regions = [sg with { Relays = [] }, syd with { Relays = [] }] }, "no relays in any region");
        yield return Case(With(sg with { Relays = [], Fallback = [] }), "region 'sg': no relays and no fallback region");
        yield return Case(With(sg with { Fallback = ["sg"] }), "region 'sg': falls back to itself");
        yield return Case(Valid with { Regions = [sg, sg] }, "region 'sg' is listed twice");
        yield return Case(Valid with { Regions = [] }, "no regions");
        yield return Case(Valid with { Hostname = "chat.example.com." }, "hostname 'chat.example.com.' is not in zone 'relay.test.'");
        yield return Case(Valid with { Zone = "relay.test" }, "zone 'relay.test' is not a fully qualified DNS name");
        yield return Case(Valid with { Ttl = -1 }, "ttl -1 is not between 0 and 86400");
        yield return Case(With(sg with { Name = "s g" }), "region name 's g' is not 1-32 letters");
        yield return Case(With(sg with { Relays = [relay with { Address = "10.71" }] }), "relay 'sg-1': bad address '10.71'");
        yield return Case(With(sg with { Relays = [relay with { Url = "http://10.71.0.2:8080/ws" }] }), "relay 'sg-1': bad url");
        // The address and the id go into the zone file (the LUA record's code and its comments): one line each, in a form
        // PowerDNS reads (no IPv6 scope id or brackets), or a newline in an id would write records of its own.
        yield return Case(With(sg with { Relays = [relay with { Address = "fe80::1%eth0" }] }), "relay 'sg-1': bad address 'fe80::1%eth0'");
        yield return Case(With(sg with { Relays = [relay with { Address = "[2001:db8::1]:80" }] }), "relay 'sg-1': bad address '[2001:db8::1]:80'");
        yield return Case(With(sg with { Relays = [relay with { Id = "sg-1\n@ 5 IN A 192.0.2.66" }] }), "region 'sg': bad relay id 'sg-1?@ 5 IN A 192.0.2.66'");
        yield return Case(With(sg with { Relays = [relay with { Id = new string('x', 65) }] }), "region 'sg': bad relay id 'xxxx");
        yield return Case(With(sg with { Relays = [relay with { Readyz = "http://10.71.0.2:8080/readyz'..os.exit()..'" }] }), "relay 'sg-1': bad readyz");
    }

    [Test]
    public void Parse_ValidFile_ReadsEveryField()
    {
        var file = RegionsFile.ParseForDns(JsonSerializer.Serialize(Valid, JsonSerializerOptions.Web));

        Assert.That(file.Hostname, Is.EqualTo("chat.relay.test."));
        Assert.That(file.Regions.Select(r => r.Name), Is.EqualTo(new[] { "sg", "syd" }));
        Assert.That(file.Find("syd")!.Relays[0], Is.EqualTo(Valid.Regions[1].Relays[0]));
        Assert.That(file.Find("syd")!.Subnets, Is.EqualTo(Valid.Regions[1].Subnets));
    }

    [Test]
    public void Parse_TheContractsExample_WithCommentsAndTrailingCommas()
    {
        const string Json = """
            {
              "hostname": "chat.relay.test.",           // the steered DNS name
              "zone": "relay.test.",
              "ttl": 5,
              "regions": [
                { "name": "sg",
                  "subnets": ["10.71.1.0/24"],
                  "fallback": [],
                  "relays": [
                    { "id": "sg-1", "address": "10.71.0.2", "url": "ws://10.71.0.2:8080/ws", "readyz": "http://10.71.0.2:8080/readyz" }, ] },
              ]
            }
            """;

        var file = RegionsFile.ParseForDns(Json);

        Assert.That(file.Regions[0].Relays[0].Id, Is.EqualTo("sg-1"));
    }

    [TestCaseSource(nameof(Broken))]
    public void Parse_BrokenFile_ThrowsOneLineNamingTheProblem(string json, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => RegionsFile.ParseForDns(json));

        Assert.That(error!.Message, Does.Contain(expected));
        Assert.That(error.Message, Does.Not.Contain('\n'));
    }

    [TestCase("""{"hostname":"chat.relay.test.","zone":"relay.test.","ttl":5}""", "not a regions file")]
    [TestCase("""{"hostname":"chat.relay.test.","zone":"relay.test.","ttl":5,"regions":[{"name":"sg","subnets":["10.0.0.0/8"],"fallback":[],"relays":[{"id":"a","address":"10.0.0.1","url":"ws://a/ws"}]}]}""", "readyz")]
    [TestCase("[1, 2", "not a regions file")]
    [TestCase("""{"hostname":"chat.relay.test.","zone":"relay.test.","ttl":5,"regions":[null]}""", "a region is null")]
    [TestCase("""{"hostname":"chat.relay.test.","zone":"relay.test.","ttl":5,"regions":[{"name":"sg","subnets":[null],"fallback":[],"relays":[]}]}""", "region 'sg': null in subnets")]
    [TestCase("""{"hostname":"chat.relay.test.","zone":"relay.test.","ttl":5,"regions":[{"name":"sg","subnets":[],"fallback":[],"relays":[null]}]}""", "region 'sg': null in subnets, fallback or relays")]
    [TestCase("""{"hostname":null,"zone":"relay.test.","ttl":5,"regions":[]}""", "no hostname (the DNS steering needs one)")]
    public void Parse_NotARegionsFile_ThrowsOneLine(string json, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => RegionsFile.ParseForDns(json));

        Assert.That(error!.Message, Does.Contain(expected));
        Assert.That(error.Message, Does.Not.Contain('\n'));
    }

    [Test]
    public void Load_MissingFile_NamesThePath()
    {
        var error = Assert.Throws<InvalidDataException>(() => RegionsFile.LoadForDns("/nonexistent/regions.json"));

        Assert.That(error!.Message, Is.EqualTo("/nonexistent/regions.json: no such file"));
    }

    private static TestCaseData Case(RegionsFile file, string expected) =>
        new TestCaseData(JsonSerializer.Serialize(file, JsonSerializerOptions.Web), expected).SetArgDisplayNames(expected);
}
