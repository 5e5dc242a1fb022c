namespace Relay.Regions.Lab.Tests;

/// <summary>
/// Failover across regions in the regions lab: users in "sg" chat through their relays with a fixed ordered URL list
/// (own region first, rotated over its two gateways, then the fallback regions nearest first: syd, eu, us), or with
/// the core's negotiate URL (the SDK's candidate list for their address, its race and next-candidate failover).
/// Every message once, in order (the users process checks each sequence).
/// </summary>
[NonParallelizable]
public class FailoverTests
{
    private const int Users = 40;
    private const double Rate = 5;

    [Test]
    [CancelAfter(240_000)]
    public async Task RegionLoss_BothSgGatewaysSigkilled_EverySgUserResumesInSyd_EveryMessageOnceInOrder_TheRegionBackTakesNewSessions(CancellationToken token)
    {
        await using var lab = await StartLabAsync(token);
        using var users = lab.StartUsers("sg", Users, Rate);
        Assert.That(await users.WaitReadyAsync(TimeSpan.FromSeconds(60), token), Is.EqualTo(Users), users.Errors);
        var sg = lab.Region("sg").Relays.Select(r => r.Url.ToString()).ToHashSet();
        Assert.That(users.Latest.Values.Select(w => w.Url), Is.All.Matches<string>(sg.Contains), "every sg user starts in sg");
        Assert.That(await lab.Relay("sg-1").SessionsAsync(token), Is.GreaterThan(0));
        Assert.That(await lab.Relay("sg-2").SessionsAsync(token), Is.GreaterThan(0));
        await Task.Delay(1000, token);

        long killedAt = lab.KillRegion("sg");
        string syd = lab.Relay("syd-1").Url.ToString();
        bool moved = await users.WaitUntilAllAsync(w => w.Timestamp > killedAt && w.Url == syd, TimeSpan.FromSeconds(60), token);
        Assert.That(moved, Is.True, $"every sg user resumed on syd-1; latest: {string.Join(", ", users.Latest.Values.GroupBy(w => w.Url).Select(g => $"{g.Key} {g.Count()}"))}\n{users.Errors}");
        Assert.That(users.Latest.Values, Has.All.Matches<UserWelcome>(w => w.Resumed), "resumed their sessions (not new ones)");
        Assert.That(await lab.Relay("syd-1").SessionsAsync(token), Is.EqualTo(Users));
        Assert.That(await lab.Relay("us-1").SessionsAsync(token), Is.Zero, "the next region, not a farther one");

        // The region comes back: it takes new sessions again; the users already moved stay where they are.
        await Task.WhenAll(lab.RestartRelayAsync("sg-1", token), lab.RestartRelayAsync("sg-2", token));
        using var newcomers = lab.StartUsers("sg", 4, Rate, name: "sg-new", firstId: 1000);
        Assert.That(await newcomers.WaitReadyAsync(TimeSpan.FromSeconds(60), token), Is.EqualTo(4), newcomers.Errors);
        Assert.That(newcomers.Latest.Values.Select(w => w.Url), Is.All.Matches<string>(sg.Contains), "new sessions in sg again");
        await Task.Delay(1000, token);
        Assert.That(await lab.Relay("syd-1").SessionsAsync(token), Is.EqualTo(Users), "the moved users stay on syd-1 until their sessions end");
        Assert.That(users.Latest.Values.Select(w => w.Url), Is.All.EqualTo(syd));

        var result = await users.StopAsync(TimeSpan.FromSeconds(60), token);
        TestContext.Out.WriteLine($"{result.Sent} sent; lost {result.Lost}, duplicated {result.Duplicated}, out of order {result.OutOfOrder}");
        Assert.That(result.Sent, Is.GreaterThan(Users * 5));
        Assert.That((result.Lost, result.Duplicated, result.OutOfOrder), Is.EqualTo((0L, 0L, 0L)), "every message once, in order, across the region's loss");
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task RegionCut_SgRelaysGoSilent_EverySgUserResumesInSyd_EveryMessageOnceInOrder(CancellationToken token)
    {
        // A silent cut (packets dropped, no reset): only the SDK's heartbeat (PROTOCOL.md "Liveness": ping after 5 s
        // with nothing received, dead 4 s later) notices it; the users then walk their list (the other sg relay's
        // connect times out, then syd). Before the heartbeat, 0 of the users moved.
        await using var lab = await StartLabAsync(token);
        using var users = lab.StartUsers("sg", Users, Rate);
        Assert.That(await users.WaitReadyAsync(TimeSpan.FromSeconds(60), token), Is.EqualTo(Users), users.Errors);
        var sg = lab.Region("sg").Relays.Select(r => r.Url.ToString()).ToHashSet();
        Assert.That(users.Latest.Values.Select(w => w.Url), Is.All.Matches<string>(sg.Contains), "every sg user starts in sg");
        await Task.Delay(1000, token);

        long cutAt = System.Diagnostics.Stopwatch.GetTimestamp();
        lab.CutRegion("sg");
        string syd = lab.Relay("syd-1").Url.ToString();
        bool moved = await users.WaitUntilAllAsync(w => w.Timestamp > cutAt && w.Url == syd, TimeSpan.FromSeconds(60), token);
        Assert.That(moved, Is.True, $"every sg user resumed on syd-1; latest: {string.Join(", ", users.Latest.Values.GroupBy(w => w.Url).Select(g => $"{g.Key} {g.Count()}"))}\n{users.Errors}");
        Assert.That(users.Latest.Values, Has.All.Matches<UserWelcome>(w => w.Resumed), "resumed their sessions (not new ones)");
        Assert.That(await lab.Relay("syd-1").SessionsAsync(token), Is.EqualTo(Users));
        await Task.Delay(1000, token);

        var result = await users.StopAsync(TimeSpan.FromSeconds(60), token);
        TestContext.Out.WriteLine($"{result.Sent} sent; lost {result.Lost}, duplicated {result.Duplicated}, out of order {result.OutOfOrder}");
        Assert.That(result.Sent, Is.GreaterThan(Users * 5));
        Assert.That((result.Lost, result.Duplicated, result.OutOfOrder), Is.EqualTo((0L, 0L, 0L)), "every message once, in order, across the cut");
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task RegionLoss_SgUsersOnNegotiateAndTheRace_BothSgGatewaysSigkilled_EverySgUserResumesInSyd_EveryMessageOnceInOrder(CancellationToken token)
    {
        await using var lab = await StartLabAsync(token);
        Assert.That(await lab.WaitNegotiateListsRegionAsync("sg", TimeSpan.FromSeconds(30), token), Is.True, "the core's negotiate lists sg-1 and sg-2");

        // The core's negotiate, across the WAN from the sg users' namespace: their source address picks sg.
        using var users = lab.StartUsers("sg", Users, Rate, negotiateUrl: lab.CoreNegotiateUrl);
        Assert.That(await users.WaitReadyAsync(TimeSpan.FromSeconds(60), token), Is.EqualTo(Users), users.Errors);
        var sg = lab.Region("sg").Relays.Select(r => r.Url.ToString()).ToHashSet();
        Assert.That(users.Latest.Values.Select(w => w.Url), Is.All.Matches<string>(sg.Contains), "negotiate sent every sg user to an sg relay");
        Assert.That(users.Latest.Values.Select(w => w.Region), Is.All.EqualTo("sg"), $"the core mapped their address to sg: {users.Latest.Values.First().Reason}");
        Assert.That(users.Latest.Values.Select(w => w.Reason), Is.All.Contains(lab.Region("sg").UsersAddress), "by their own source address, across the WAN");
        Assert.That(await lab.Relay("sg-1").SessionsAsync(token) + await lab.Relay("sg-2").SessionsAsync(token), Is.EqualTo(Users));
        await Task.Delay(1000, token);

        long killedAt = lab.KillRegion("sg");
        string syd = lab.Relay("syd-1").Url.ToString();
        bool moved = await users.WaitUntilAllAsync(w => w.Timestamp > killedAt && w.Url == syd, TimeSpan.FromSeconds(60), token);
        Assert.That(moved, Is.True, $"every sg user resumed on syd-1, the next candidate; latest: {string.Join(", ", users.Latest.Values.GroupBy(w => w.Url).Select(g => $"{g.Key} {g.Count()}"))}\n{users.Errors}");
        Assert.That(users.Latest.Values, Has.All.Matches<UserWelcome>(w => w.Resumed), "resumed their sessions (not new ones)");
        Assert.That(await lab.Relay("syd-1").SessionsAsync(token), Is.EqualTo(Users));
        Assert.That(await lab.Relay("us-1").SessionsAsync(token), Is.Zero, "the next region, not a farther one (a race's loser holds no session)");
        await Task.Delay(1000, token);

        var result = await users.StopAsync(TimeSpan.FromSeconds(60), token);
        TestContext.Out.WriteLine($"{result.Sent} sent; lost {result.Lost}, duplicated {result.Duplicated}, out of order {result.OutOfOrder}");
        Assert.That(result.Sent, Is.GreaterThan(Users * 5));
        Assert.That((result.Lost, result.Duplicated, result.OutOfOrder), Is.EqualTo((0L, 0L, 0L)), "every message once, in order, across the region's loss");
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task DrainOfOneSgGateway_ItsUsersMoveToTheOtherSgGateway_StayInSg_NothingLost(CancellationToken token)
    {
        await using var lab = await StartLabAsync(token);
        using var users = lab.StartUsers("sg", Users, Rate);
        Assert.That(await users.WaitReadyAsync(TimeSpan.FromSeconds(60), token), Is.EqualTo(Users), users.Errors);
        var sg1 = lab.Relay("sg-1");
        var sg2 = lab.Relay("sg-2");
        long onSg1 = await sg1.SessionsAsync(token);
        Assert.That(onSg1, Is.GreaterThan(0));
        await Task.Delay(1000, token);

        // The core has told sg-1 the others are healthy (fleet view), so an operator drain needs no force.
        Assert.That(await UntilAsync(() => sg1.DrainAsync(token), TimeSpan.FromSeconds(20), token), Is.True, "drain accepted");
        Assert.That(await UntilAsync(async () => await sg1.SessionsAsync(token) == 0, TimeSpan.FromSeconds(30), token), Is.True, "every session left sg-1");
        string sg2Url = sg2.Url.ToString();
        Assert.That(await users.WaitUntilAllAsync(w => w.Url == sg2Url, TimeSpan.FromSeconds(30), token), Is.True,
            $"every sg user on sg-2; latest: {string.Join(", ", users.Latest.Values.GroupBy(w => w.Url).Select(g => $"{g.Key} {g.Count()}"))}");
        Assert.That(await sg2.SessionsAsync(token), Is.EqualTo(Users), "they stayed in the region");
        Assert.That(await lab.Relay("syd-1").SessionsAsync(token) + await lab.Relay("us-1").SessionsAsync(token), Is.Zero, "none left the region");
        await Task.Delay(1000, token);

        var result = await users.StopAsync(TimeSpan.FromSeconds(60), token);
        TestContext.Out.WriteLine($"{onSg1} drained from sg-1; {result.Sent} sent; lost {result.Lost}, duplicated {result.Duplicated}, out of order {result.OutOfOrder}");
        Assert.That((result.Lost, result.Duplicated, result.OutOfOrder), Is.EqualTo((0L, 0L, 0L)), "every message once, in order, across the drain");
    }

    private static async Task<RegionsLab> StartLabAsync(CancellationToken token)
    {
        if (RegionsLab.CheckPrerequisites() is { } missing)
        {
            Assert.Ignore(missing);
        }

        return await RegionsLab.StartAsync(null, TestContext.Out.WriteLine, token);
    }

    private static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan limit, CancellationToken token)
    {
        var until = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < until)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100, token);
        }

        return false;
    }
}
