using System.Text.Json;
using Relay.Contracts.Regions;
using Relay.Testing;
using Relay.Testing.Regions;

namespace Relay.Regions.Tests;

/// <summary>relay-regions as an operator runs it: a process, its exit code, its one-line errors, the files it writes.</summary>
public sealed class GeneratorCommandTests
{
    private string _folder = null!;

    [SetUp]
    public void RequireGenerator()
    {
        if (!File.Exists(PdnsProcess.GeneratorDll))
        {
            Assert.Ignore($"relay-regions is not built at {PdnsProcess.GeneratorDll}: dotnet build Relay.sln -c {Repo.Configuration}");
        }

        _folder = TempFolders.Create("relay-regions-cli-");
    }

    // Removed here, not only at the test process's exit: the test host may be ended before its exit handlers finish.
    [TearDown]
    public void RemoveFolder()
    {
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Test]
    public async Task Generate_UnknownFallbackRegion_ExitsOneWithOneLineAndWritesNothing()
    {
        string regions = Write(RegionsFileTests.Valid with { Regions = [RegionsFileTests.Valid.Regions[0] with { Fallback = ["mars"] }, RegionsFileTests.Valid.Regions[1]] });
        string output = Path.Combine(_folder, "out");

        var result = await PdnsProcess.GeneratorAsync(["generate", "--regions", regions, "--out", output, "--local-address", "127.0.0.1"], CancellationToken.None);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.StdErr.TrimEnd(), Is.EqualTo($"relay-regions: {regions}: region 'sg': unknown fallback region 'mars'"));
        Assert.That(Directory.Exists(output), Is.False);
    }

    [Test]
    public async Task Check_ValidFile_ExitsZero()
    {
        string regions = Write(RegionsFileTests.Valid);

        var result = await PdnsProcess.GeneratorAsync(["check", "--regions", regions], CancellationToken.None);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StdErr);
        Assert.That(result.StdOut, Does.Contain("2 regions, 2 relays, 3 subnets: valid"));
    }

    [TestCase(new[] { "generate", "--regions", "REGIONS", "--out", "OUT" }, "--local-address ADDR is required")]
    [TestCase(new[] { "generate", "--regions", "REGIONS", "--out", "OUT", "--local-address", "localhost" }, "--local-address: 'localhost' is not an IP address")]
    [TestCase(new[] { "generate", "--regions", "REGIONS", "--out", "OUT", "--local-address", "127.0.0.1", "--local-port", "70000" }, "--local-port: '70000' is not a number from 1 to 65535")]
    [TestCase(new[] { "generate", "--regions", "REGIONS", "--colour", "blue" }, "unknown option '--colour'")]
    [TestCase(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    public async Task BadCommandLine_ExitsTwoWithWhatIsWrong(string[] arguments, string expected)
    {
        string regions = Write(RegionsFileTests.Valid);
        string[] args = [.. arguments.Select(a => a.Replace("REGIONS", regions, StringComparison.Ordinal).Replace("OUT", Path.Combine(_folder, "out"), StringComparison.Ordinal))];

        var result = await PdnsProcess.GeneratorAsync(args, CancellationToken.None);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StdErr.Split('\n')[0], Does.StartWith("relay-regions: " + expected));
    }

    [Test]
    public async Task Generate_ValidFile_WritesTheZoneConfigAndSubnetTable()
    {
        string regions = Write(RegionsFileTests.Valid);
        string output = Path.Combine(_folder, "out");

        var result = await PdnsProcess.GeneratorAsync(
            ["generate", "--regions", regions, "--out", output, "--local-address", "192.0.2.53", "--local-port", "5300", "--health-check-interval", "2", "--serial", "7"], CancellationToken.None);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StdErr);
        string conf = File.ReadAllText(Path.Combine(output, "pdns.conf"));
        Assert.That(conf, Does.Contain("launch=bind\n").And.Contain($"bind-config={output}/named.conf\n").And.Contain("enable-lua-records=yes\n")
            .And.Contain("edns-subnet-processing=yes\n").And.Contain("local-address=192.0.2.53\n").And.Contain("local-port=5300\n").And.Contain("lua-health-checks-interval=2\n"));
        Assert.That(File.ReadAllText(Path.Combine(output, "named.conf")), Does.Contain($"zone \"relay.test\" {{ type master; file \"{output}/relay.test.zone\"; }};"));
        string zone = File.ReadAllText(Path.Combine(output, "relay.test.zone"));
        Assert.That(zone, Does.Contain("@ 5 IN SOA ns1.relay.test. hostmaster.relay.test. 7 ").And.Contain("chat.relay.test. 5 IN LUA A (")
            .And.Contain("\"['sg']={['10.71.0.2']='http://10.71.0.2:8080/readyz'},\"").And.Contain("ifurlextup(units,"));
        Assert.That(zone, Does.Not.Contain("IN LUA AAAA"), "no IPv6 relay, no AAAA record");
        Assert.That(File.ReadAllLines(Path.Combine(output, "subnets.tsv")).Where(l => !l.StartsWith('#')),
            Is.EqualTo(new[] { "2001:db8:2::/48\tsyd\tsyd,sg", "10.71.1.0/24\tsg\tsg,syd", "10.71.2.0/24\tsyd\tsyd,sg" }), "longest prefix first");
    }

    [Test]
    public async Task Generate_IPv6Relay_GoesIntoAnAaaaRecordOfItsOwn()
    {
        var sg = RegionsFileTests.Valid.Regions[0];
        var v6 = new RegionRelay("sg-6", "2001:db8:71::2", "ws://[2001:db8:71::2]:8080/ws", "http://[2001:db8:71::2]:8080/readyz");
        string regions = Write(RegionsFileTests.Valid with { Regions = [sg with { Relays = [.. sg.Relays, v6] }, RegionsFileTests.Valid.Regions[1]] });
        string output = Path.Combine(_folder, "out");

        var result = await PdnsProcess.GeneratorAsync(["generate", "--regions", regions, "--out", output, "--local-address", "::1"], CancellationToken.None);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StdErr);
        string zone = File.ReadAllText(Path.Combine(output, "relay.test.zone"));
        string a = zone[zone.IndexOf("IN LUA A (", StringComparison.Ordinal)..zone.IndexOf("IN LUA AAAA (", StringComparison.Ordinal)];
        string aaaa = zone[zone.IndexOf("IN LUA AAAA (", StringComparison.Ordinal)..];
        Assert.That(a, Does.Contain("['10.71.0.2']=").And.Not.Contain("2001:db8:71::2"));
        Assert.That(aaaa, Does.Contain("\"['sg']={['2001:db8:71::2']='http://[2001:db8:71::2]:8080/readyz'},\"").And.Contain("\"['syd']={},\"").And.Not.Contain("10.71.0.2"));
    }

    [Test]
    public async Task Generate_DocsExample_WritesTheRecordDocsRegionsMdShows()
    {
        RegionRelay Relay(string id, string address) => new(id, address, $"ws://{address}:8080/ws", $"http://{address}:8080/readyz");
        string regions = Write(new RegionsFile(Hostname: "chat.relay.test.", Zone: "relay.test.", Ttl: 5, Regions:
        [
            new Region("sg", ["10.71.1.0/24"], ["syd"], [Relay("sg-1", "10.71.0.2"), Relay("sg-2", "10.71.0.3")]),
            new Region("syd", ["10.71.2.0/24"], ["sg"], [Relay("syd-1", "10.72.0.2")]),
        ]));
        string output = Path.Combine(_folder, "out");

        var result = await PdnsProcess.GeneratorAsync(["generate", "--regions", regions, "--out", output, "--local-address", "127.0.0.1"], CancellationToken.None);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.StdErr);
        string zone = File.ReadAllText(Path.Combine(output, "relay.test.zone"));
        string record = zone[zone.IndexOf("chat.relay.test. 5 IN LUA A (", StringComparison.Ordinal)..];
        Assert.That(File.ReadAllText(Path.Combine(Repo.Root, "docs", "regions.md")), Does.Contain(record), "docs/regions.md's LUA record example");
    }

    private string Write(RegionsFile file)
    {
        string path = Path.Combine(_folder, "regions.json");
        File.WriteAllText(path, JsonSerializer.Serialize(file, JsonSerializerOptions.Web));
        return path;
    }
}
