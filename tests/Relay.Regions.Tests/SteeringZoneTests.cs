using Relay.Testing.Regions;

namespace Relay.Regions.Tests;

/// <summary>
/// PowerDNS serving the zone relay-regions generated, asked with dig: the asking client's region (EDNS client subnet,
/// else the source address), only relays whose /readyz answers 200, the fallback order when a region has none.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SteeringZoneTests
{
    private SteeringWorld _world = null!;

    [OneTimeSetUp]
    public async Task StartWorld()
    {
        if (PdnsProcess.Missing() is { } missing)
        {
            Assert.Ignore(missing);
        }

        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _world = await SteeringWorld.StartAsync(limit.Token);
    }

    [OneTimeTearDown]
    public async Task StopWorld()
    {
        if (_world is not null)
        {
            await _world.DisposeAsync();
        }
    }

    [SetUp]
    public async Task EveryRelayReady()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await _world.AllReadyAsync(limit.Token);
    }

    [TestCase("sg", new[] { "sg-1", "sg-2" })]
    [TestCase("syd", new[] { "syd-1" })]
    [TestCase("us", new[] { "us-1" })]
    public async Task ClientSubnet_InARegion_AnswersThatRegionsRelays(string region, string[] relays)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        string subnet = _world.Subnet(region);

        var answer = await _world.AskWithSubnetAsync(subnet, limit.Token);

        Assert.That(answer, Is.EqualTo(_world.AddressesOf(relays)), $"a resolver asking for users in {subnet}");
    }

    [Test]
    public async Task ClientSubnet_OnlyInALessSpecificSubnet_AnswersThatRegion()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        // 10.217.O.200 is in sg's /24 only; 10.217.O.66 is in sg's /24 and in syd's /26: the longest prefix wins.
        var outer = await _world.AskWithSubnetAsync($"10.217.{_world.LabOctet}.200/32", limit.Token);
        var inner = await _world.AskWithSubnetAsync($"10.217.{_world.LabOctet}.66/32", limit.Token);

        Assert.That(outer, Is.EqualTo(_world.AddressesOf("sg-1", "sg-2")));
        Assert.That(inner, Is.EqualTo(_world.AddressesOf("syd-1")));
    }

    [Test]
    public async Task NoClientSubnet_SourceInNoRegion_AnswersTheFirstRegion()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        var answer = await Dig.QueryAsync(_world.Server, _world.Pdns.Port, SteeringWorld.Hostname, limit.Token);

        Assert.That(answer, Is.EqualTo(_world.AddressesOf("sg-1", "sg-2")), "127.0.0.1 is in no region's subnet: the first region (sg)");
    }

    [TestCase("sg", new[] { "sg-1", "sg-2" })]
    [TestCase("syd", new[] { "syd-1" })]
    [TestCase("us", new[] { "us-1" })]
    public async Task UserNamespace_InARegion_AnswersThatRegionsRelays(string region, string[] relays)
    {
        RequireNetns();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        var answer = await _world.AskFromNamespaceAsync(region, limit.Token);

        Assert.That(answer, Is.EqualTo(_world.AddressesOf(relays)), $"dig from {_world.UserAddress(region)} in {_world.UserNamespaces[region]}");
    }

    [Test]
    public async Task RelayNotReady_LeavesTheAnswers_AndComesBackWhenReady()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        string sg = _world.Subnet("sg");

        _world.Relays["sg-2"].Ready = false;

        await _world.EventuallyAsync(t => _world.AskWithSubnetAsync(sg, t), _world.AddressesOf("sg-1"), "sg users while sg-2 answers 503", limit.Token);
        Assert.That(await _world.AskWithSubnetAsync(_world.Subnet("syd"), limit.Token), Is.EqualTo(_world.AddressesOf("syd-1")), "other regions unchanged");
        if (_world.NoNetns is null)
        {
            Assert.That(await _world.AskFromNamespaceAsync("sg", limit.Token), Is.EqualTo(_world.AddressesOf("sg-1")), "from the sg users' namespace");
        }

        _world.Relays["sg-2"].Ready = true;

        await _world.EventuallyAsync(t => _world.AskWithSubnetAsync(sg, t), _world.AddressesOf("sg-1", "sg-2"), "sg users once sg-2 is ready again", limit.Token);
    }

    [Test]
    public async Task RegionWithNoReadyRelay_IsReplacedByItsFallbackRegionsInOrder()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        string syd = _world.Subnet("syd");

        _world.Relays["syd-1"].Ready = false;

        // syd falls back to sg first...
        await _world.EventuallyAsync(t => _world.AskWithSubnetAsync(syd, t), _world.AddressesOf("sg-1", "sg-2"), "syd users while syd-1 answers 503", limit.Token);
        if (_world.NoNetns is null)
        {
            Assert.That(await _world.AskFromNamespaceAsync("syd", limit.Token), Is.EqualTo(_world.AddressesOf("sg-1", "sg-2")), "from the syd users' namespace");
        }

        // ...then to us when sg has none either; us users (us, then syd, then sg) keep theirs.
        _world.Relays["sg-1"].Ready = false;
        _world.Relays["sg-2"].Ready = false;

        await _world.EventuallyAsync(t => _world.AskWithSubnetAsync(syd, t), _world.AddressesOf("us-1"), "syd users while syd and sg are down", limit.Token);
        await _world.EventuallyAsync(t => _world.AskWithSubnetAsync(_world.Subnet("sg"), t), _world.AddressesOf("us-1"), "sg users while sg and syd are down", limit.Token);
        Assert.That(await _world.AskWithSubnetAsync(_world.Subnet("us"), limit.Token), Is.EqualTo(_world.AddressesOf("us-1")));

        // A region that comes back takes its users again.
        _world.Relays["syd-1"].Ready = true;

        await _world.EventuallyAsync(t => _world.AskWithSubnetAsync(syd, t), _world.AddressesOf("syd-1"), "syd users once syd-1 is ready again", limit.Token);
    }

    [Test]
    public async Task RegionAndItsFallbacksWithNoReadyRelay_IsAnsweredAnyOtherRegionWithOne()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        string us = _world.Subnet("us");

        // us falls back to syd only. With both down, us users get sg's ready relays (negotiate's order too: the region,
        // its fallback regions, then any other), not the addresses of relays that refuse them.
        _world.Relays["us-1"].Ready = false;
        _world.Relays["syd-1"].Ready = false;

        await _world.EventuallyAsync(t => _world.AskWithSubnetAsync(us, t), _world.AddressesOf("sg-1", "sg-2"), "us users while us and syd are down", limit.Token);

        // Its fallback first again once syd is back.
        _world.Relays["syd-1"].Ready = true;

        await _world.EventuallyAsync(t => _world.AskWithSubnetAsync(us, t), _world.AddressesOf("syd-1"), "us users once syd-1 is ready again", limit.Token);
    }

    private void RequireNetns()
    {
        if (_world.NoNetns is { } why)
        {
            Assert.Ignore(why);
        }
    }
}
