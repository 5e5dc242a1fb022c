using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Security;

namespace Relay.Gateway.Tests.Security;

/// <summary>Issue 16, Under Attack mode: switched on by a rate of new or refused connections, off again with hysteresis.</summary>
public class UnderAttackModeTests
{
    private static UnderAttackOptions Options() => new()
    {
        NewConnectionsPerSecondOn = 100,
        NewConnectionsPerSecondOff = 20,
        RefusedPerSecondOn = 50,
        RefusedPerSecondOff = 10,
        OffAfter = TimeSpan.FromSeconds(30),
        SampleInterval = TimeSpan.FromSeconds(1),
    };

    private static UnderAttackMode Mode(FakeTimeProvider time, UnderAttackOptions? options = null) =>
        new(Microsoft.Extensions.Options.Options.Create(options ?? Options()), time, NullLogger<UnderAttackMode>.Instance);

    private static void Connections(UnderAttackMode mode, int n)
    {
        for (int i = 0; i < n; i++)
        {
            mode.ConnectionOpened();
        }
    }

    private static void Refusals(UnderAttackMode mode, System.Net.IPAddress client, int n)
    {
        for (int i = 0; i < n; i++)
        {
            mode.Refused(client);
        }
    }

    [Test]
    public void NewConnectionRate_AboveThreshold_TurnsTheModeOn_WithItsTrigger()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-02T12:00:00Z"));
        using var mode = Mode(time);
        Connections(mode, 99);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(mode.IsOn, Is.False, "99/s is below the threshold");

        Connections(mode, 150);
        time.Advance(TimeSpan.FromSeconds(1));

        var status = mode.Describe();
        Assert.That(status.On, Is.True);
        Assert.That(status.Source, Is.EqualTo("auto"));
        Assert.That(status.Trigger, Does.Contain("new connections").And.Contain("150"));
        Assert.That(status.Since, Is.EqualTo(time.GetUtcNow()));
    }

    [Test]
    public void RefusedRate_AboveThreshold_TurnsTheModeOn()
    {
        var time = new FakeTimeProvider();
        using var mode = Mode(time);
        for (int i = 0; i < 60; i++)
        {
            mode.Refused();
        }

        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(mode.IsOn, Is.True);
        Assert.That(mode.Describe().Trigger, Does.Contain("refused"));
    }

    [Test]
    public void RefusalsOfOneClient_CountAtMostItsShare_SoOneClientCannotTurnTheModeOnForEveryone()
    {
        // One client's TLS handshake loop is reset at accept ~1,900 times a second (bench/README.md, "TLS handshake flood
        // from one client"): every reset a refusal. The per-client limits already stop that client; it must not also
        // switch the whole relay into Under Attack mode (proof of work for every new user). A client (an IPv4 address,
        // an IPv6 /64) counts RefusedPerAddressPerSecond (here 10) refusals a second at most.
        var time = new FakeTimeProvider();
        var options = Options();
        options.RefusedPerAddressPerSecond = 10;
        using var mode = Mode(time, options);
        Refusals(mode, System.Net.IPAddress.Parse("198.51.100.7"), 2_000);

        var sameSlash64 = new[] { "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9" };
        for (int i = 0; i < 300; i++)
        {
            mode.Refused("rate-address", System.Net.IPAddress.Parse(sameSlash64[i % 3]));
        }

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(mode.IsOn, Is.False, "one IPv4 client and one IPv6 /64: 20 counted, under 50/s");
        Assert.That(mode.Refusals()["rate-address"], Is.EqualTo(300), "every refusal still counted by reason");

        // Six clients over their share each: 60 counted.
        for (int c = 0; c < 6; c++)
        {
            Refusals(mode, System.Net.IPAddress.Parse($"203.0.113.{c + 1}"), 100);
        }

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(mode.IsOn, Is.True, "a flood from many clients still switches it on");
        Assert.That(mode.Describe().Trigger, Does.Contain("refused connections 60/s"));
    }

    [Test]
    public void RefusedPerAddressPerSecond_Zero_CountsEveryRefusal()
    {
        var time = new FakeTimeProvider();
        var options = Options();
        options.RefusedPerAddressPerSecond = 0;
        using var mode = Mode(time, options);
        Refusals(mode, System.Net.IPAddress.Loopback, 60);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(mode.IsOn, Is.True);
    }

    [Test]
    public void AutoMode_TurnsOff_OnlyAfterTheRateStaysBelowTheLowerThreshold_ForTheHoldTime()
    {
        var time = new FakeTimeProvider();
        using var mode = Mode(time);
        Connections(mode, 200);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(mode.IsOn, Is.True);

        // Between the two thresholds: stays on however long it lasts.
        for (int s = 0; s < 60; s++)
        {
            Connections(mode, 50);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.That(mode.IsOn, Is.True, "50/s is above the lower threshold (20/s)");

        // Below the lower threshold: on for 29 s, off at 30 s.
        for (int s = 0; s < 29; s++)
        {
            Connections(mode, 5);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.That(mode.IsOn, Is.True, "quiet for 29 s of a 30 s hold");

        // One busy second restarts the hold.
        Connections(mode, 40);
        time.Advance(TimeSpan.FromSeconds(1));
        for (int s = 0; s < 29; s++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.That(mode.IsOn, Is.True, "the hold restarted after the busy second");
        time.Advance(TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(mode.IsOn, Is.False, "quiet for the whole hold time");
    }

    [Test]
    public void OperatorMode_IsNotTurnedOffByTheAutomaticHysteresis()
    {
        var time = new FakeTimeProvider();
        using var mode = Mode(time);
        mode.Set(true, "operator", "admin API");

        time.Advance(TimeSpan.FromMinutes(5));

        Assert.That(mode.IsOn, Is.True);
        Assert.That(mode.Describe().Source, Is.EqualTo("operator"));
        mode.Set(false, "core", "fleet order");
        Assert.That(mode.IsOn, Is.False);
    }

    [Test]
    public void AutoTriggerOff_NeverSwitchesByItself()
    {
        var time = new FakeTimeProvider();
        var options = Options();
        options.AutoTrigger = false;
        using var mode = Mode(time, options);
        Connections(mode, 10_000);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(mode.IsOn, Is.False);
    }
}
