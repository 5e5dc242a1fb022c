namespace Relay.Regions.Lab.Tests;

/// <summary>
/// PowerDNS in the regions lab: the zone relay-regions generates from the lab's regions file, served from a namespace
/// on the WAN in eu, checking every relay's /readyz across the WAN; dig from each users namespace (its own source
/// address picks the region). Waits by asking again (bounded), never by timing.
/// </summary>
[NonParallelizable]
public class DnsSteeringTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(30);

    [Test]
    [CancelAfter(180_000)]
    public async Task Dns_EachRegionsUsersGetTheirOwnRelays_SgKilled_SgUsersGetSyds_SgBack_SgUsersGetSgAgain(CancellationToken token)
    {
        if ((RegionsLab.CheckPrerequisites() ?? PdnsProcess.Missing()) is { } missing)
        {
            Assert.Ignore(missing);
        }

        await using var lab = await RegionsLab.StartAsync(null, TestContext.Out.WriteLine, token);
        await lab.StartDnsAsync(token);

        // Every region's users are answered their own region's relays (eu's: the core's /ws, the last resort).
        foreach (var region in lab.Regions)
        {
            var own = lab.RelayAddresses(region.Name);
            Assert.That(await AnswerAsync(lab, region.Name, own, token), Is.EqualTo(own), $"{region.Name} users: their own region's relays\n{lab.Dns!.Log}");
        }

        lab.KillRegion("sg");
        var syd = lab.RelayAddresses("syd");
        Assert.That(await AnswerAsync(lab, "sg", syd, token), Is.EqualTo(syd), $"sg users: syd's relays once sg has none ready\n{lab.Dns!.Log}");
        Assert.That(await lab.DigAsync("syd", token), Is.EqualTo(syd), "syd users: unchanged");
        Assert.That(await lab.DigAsync("us", token), Is.EqualTo(lab.RelayAddresses("us")), "us users: unchanged");

        // The region comes back: its users are answered its relays again.
        await Task.WhenAll(lab.RestartRelayAsync("sg-1", token), lab.RestartRelayAsync("sg-2", token));
        var sg = lab.RelayAddresses("sg");
        Assert.That(await AnswerAsync(lab, "sg", sg, token), Is.EqualTo(sg), $"sg users: sg's relays again\n{lab.Dns!.Log}");
    }

    /// <summary>Asks from the region's users namespace until the answer is <paramref name="expected"/> (at most 30 s); returns the last answer.</summary>
    private static async Task<IReadOnlyList<string>> AnswerAsync(RegionsLab lab, string region, IReadOnlyList<string> expected, CancellationToken token)
    {
        var until = DateTime.UtcNow + s_limit;
        IReadOnlyList<string> answer = [];
        while (DateTime.UtcNow < until)
        {
            try
            {
                answer = await lab.DigAsync(region, token);
            }
            catch (IOException e)
            {
                TestContext.Out.WriteLine($"dig from {region}: {e.Message}");
            }

            if (answer.SequenceEqual(expected))
            {
                break;
            }

            await Task.Delay(200, token);
        }

        return answer;
    }
}
