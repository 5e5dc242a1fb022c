using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Relay.Testing.Steering;

namespace Relay.Steering.Tests;

/// <summary>Real HAProxy in front of three real gateway processes, core-sim behind them, Relay.Client users under load.</summary>
[NonParallelizable]
public class SteeringTests
{
    private static readonly TimeSpan s_pace = TimeSpan.FromMilliseconds(100);

    [Test]
    [CancelAfter(120_000)]
    public async Task Drain_MovesEverySessionToTheOthers_NothingLost_AndHaproxyStopsSendingNewOnes(CancellationToken token)
    {
        await using var f = await SteeringFixture.StartAsync(token);
        await using var load = await ChatLoad.StartAsync(f.Haproxy.WebSocketUri, f.Token, 60, s_pace, token);
        var gw1 = f.Gateways[0];
        await f.WaitUntilAsync(async () => await gw1.SessionsAsync(token) > 0, "gw1 carries sessions", token);
        await Task.Delay(1000, token);

        // The core has told gw1 that two other relays are healthy, so an operator drain needs no force.
        HttpResponseMessage drain = null!;
        await f.WaitUntilAsync(async () => (drain = await gw1.PostAdminAsync("/admin/drain", token)).StatusCode == HttpStatusCode.OK, "drain accepted", token);

        await f.WaitUntilAsync(async () => await gw1.SessionsAsync(token) == 0, "every session left gw1", token);
        await f.Haproxy.WaitForStatusAsync("gw1", s => s.StartsWith("DRAIN", StringComparison.Ordinal) || s.StartsWith("DOWN", StringComparison.Ordinal), token);
        Assert.That(await gw1.ReadyAsync(token), Is.False);

        // New sessions go only to the others.
        // Waited for, not slept on (a fixed 1.5 s was too short for 20 connects on a loaded 2-vCPU machine).
        await load.AddAsync(f.Haproxy.WebSocketUri, f.Token, 20, s_pace, token, firstId: 1000);
        await f.WaitUntilAsync(async () => await f.Gateways[1].SessionsAsync(token) + await f.Gateways[2].SessionsAsync(token) == 80, "the 60 moved and the 20 new sessions are on gw2 and gw3", token);
        Assert.That(await gw1.SessionsAsync(token), Is.Zero, "HAProxy sends no new session to the drained relay");

        // Enough traffic through the drain and after it for the count below to mean something (waited for: stop 45's CI
        // saw 880 when the fixed sleep above became a wait).
        await f.WaitUntilAsync(() => Task.FromResult(load.Sent > 1000), "1,000 messages sent", token);
        var result = await load.StopAsync(TimeSpan.FromSeconds(15));
        Assert.That(result.Sent, Is.GreaterThan(1000));
        Assert.That((result.Lost, result.Duplicated, result.OutOfOrder), Is.EqualTo((0L, 0L, 0L)), $"sent {result.Sent}");

        // Undrain: it takes sessions again.
        Assert.That((await gw1.PostAdminAsync("/admin/undrain", token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await f.Haproxy.WaitForStatusAsync("gw1", s => s.StartsWith("UP", StringComparison.Ordinal), token);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SickThroughCoreFaults_ReportsWhy_IsTakenOut_UsersMoveLosingNothing_ThenComesBack(CancellationToken token)
    {
        await using var f = await SteeringFixture.StartAsync(token, core: o => o.FleetDrainSickAfter = TimeSpan.FromSeconds(2));
        await using var load = await ChatLoad.StartAsync(f.Haproxy.WebSocketUri, f.Token, 45, s_pace, token);
        var gw2 = f.Gateways[1];
        await f.WaitUntilAsync(async () => await gw2.SessionsAsync(token) > 0, "gw2 carries sessions", token);

        // Its backhaul links turn slow: the core answers its pings 2.5 s late (RTT over the 2 s "sick" threshold).
        using var http = new HttpClient { BaseAddress = f.Core.HttpUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", f.Core.AdminKey); // faults need core-sim's admin key
        (await http.PostAsJsonAsync("/v1/faults/link-latency", new { relayId = "gw2", ms = 2500 }, token)).EnsureSuccessStatusCode();

        await f.WaitUntilAsync(async () => (await gw2.StatusAsync(token)).Contains("backhaul slow", StringComparison.Ordinal), "gw2 reports why it is sick", token, seconds: 30);
        await f.Haproxy.WaitForStatusAsync("gw2", s => !s.StartsWith("UP", StringComparison.Ordinal), token);

        // The core's fleet shows it sick, with the reason, and its policy orders the drain.
        await f.WaitUntilAsync(async () =>
        {
            var fleet = await http.GetFromJsonAsync<JsonElement>("/fleet", token);
            var relay = fleet.GetProperty("relays").EnumerateArray().First(r => r.GetProperty("relayId").GetString() == "gw2");
            return relay.GetProperty("policy").ValueKind == JsonValueKind.String && relay.GetProperty("policy").GetString()!.Contains("drain ordered", StringComparison.Ordinal);
        }, "the fleet policy orders gw2 drained", token, seconds: 30);
        await f.WaitUntilAsync(async () => await gw2.SessionsAsync(token) == 0, "gw2's users moved", token);

        // Clear the fault: it comes back by itself.
        (await http.DeleteAsync("/v1/faults", token)).EnsureSuccessStatusCode();
        await f.WaitUntilAsync(() => gw2.ReadyAsync(token), "gw2 ready again", token, seconds: 40);
        await f.Haproxy.WaitForStatusAsync("gw2", s => s.StartsWith("UP", StringComparison.Ordinal), token);

        var result = await load.StopAsync(TimeSpan.FromSeconds(15));
        Assert.That((result.Lost, result.Duplicated, result.OutOfOrder), Is.EqualTo((0L, 0L, 0L)), $"sent {result.Sent}");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SigkillOneGateway_UnderLoad_UsersResumeOnTheOthers_NothingLost(CancellationToken token)
    {
        await using var f = await SteeringFixture.StartAsync(token);
        await using var load = await ChatLoad.StartAsync(f.Haproxy.WebSocketUri, f.Token, 60, s_pace, token);
        var gw3 = f.Gateways[2];
        await f.WaitUntilAsync(async () => await gw3.SessionsAsync(token) > 0, "gw3 carries sessions", token);
        long onGw3 = await gw3.SessionsAsync(token);
        await Task.Delay(1000, token);

        gw3.Kill();
        await f.Haproxy.WaitForStatusAsync("gw3", s => s.StartsWith("DOWN", StringComparison.Ordinal), token);
        await f.WaitUntilAsync(async () => await f.Gateways[0].SessionsAsync(token) + await f.Gateways[1].SessionsAsync(token) == 60, "all 60 users on the two survivors", token, seconds: 40);
        await Task.Delay(1000, token);

        var result = await load.StopAsync(TimeSpan.FromSeconds(20));
        Assert.That(onGw3, Is.GreaterThan(0));
        Assert.That((result.Lost, result.Duplicated, result.OutOfOrder), Is.EqualTo((0L, 0L, 0L)), $"sent {result.Sent}");
    }
}
