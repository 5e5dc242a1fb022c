using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Relay.Contracts.Challenges;
using Relay.Contracts.Tokens;
using Relay.Gateway.Security;

namespace Relay.Gateway.Tests.Security;

/// <summary>Issue 16, Under Attack mode at admission: proof of work for new sessions, resumes exempt, connection-rate limits.</summary>
public class UnderAttackGateTests
{
    private static readonly IPAddress s_client = IPAddress.Parse("127.0.0.9");

    private sealed class Parts : IDisposable
    {
        public Parts(UnderAttackOptions options, FakeTimeProvider time, params string[] openSessions)
        {
            var wrapped = Microsoft.Extensions.Options.Options.Create(options);
            Time = time;
            Mode = new UnderAttackMode(wrapped, time, NullLogger<UnderAttackMode>.Instance);
            Challenges = new ChallengeIssuer(wrapped, time);
            Metrics = new UnderAttackMetrics(new TestMeterFactory(), Mode);
            Gate = new UnderAttackGate(wrapped, Mode, Challenges, Metrics, time, () => openSessions);
        }

        public FakeTimeProvider Time { get; }

        public UnderAttackMode Mode { get; }

        public ChallengeIssuer Challenges { get; }

        public UnderAttackMetrics Metrics { get; }

        public UnderAttackGate Gate { get; }

        public string Pow(IPAddress ip)
        {
            var c = Challenges.Issue(ip);
            return c.Value + "." + ProofOfWork.Solve(c.Value, c.Difficulty, CancellationToken.None);
        }

        public void Dispose()
        {
            Gate.Dispose();
            Mode.Dispose();
        }
    }

    private static TokenClaims Claims(string sub) => new(sub, "s1", "visitor", DateTimeOffset.MaxValue);

    private static UnderAttackOptions Options() => new() { Difficulty = 8, AutoTrigger = false, ResumeWindow = TimeSpan.FromMinutes(10) };

    [Test]
    public void ModeOff_AdmitsWithoutAChallenge()
    {
        using var p = new Parts(Options(), new FakeTimeProvider());
        Assert.That(p.Gate.Check(s_client, null, Claims("a")), Is.Null);
    }

    [Test]
    public void ModeOn_ANewSessionWithoutASolution_IsRefusedWith429SayingAChallengeIsRequired()
    {
        using var p = new Parts(Options(), new FakeTimeProvider());
        p.Mode.Set(true, "operator", "test");

        var refusal = p.Gate.Check(s_client, null, Claims("new"));

        Assert.That(refusal, Is.Not.Null);
        Assert.That(refusal!.Value.Status, Is.EqualTo(429));
        Assert.That(refusal.Value.Message, Does.StartWith("challenge required"));
        Assert.That(p.Metrics.Refusals()["challenge-required"], Is.EqualTo(1));
    }

    [Test]
    public void ModeOn_ANewSessionWithASolution_IsAdmitted_AndTheSameSolutionNotTwice()
    {
        using var p = new Parts(Options(), new FakeTimeProvider());
        p.Mode.Set(true, "operator", "test");
        string pow = p.Pow(s_client);

        Assert.That(p.Gate.Check(s_client, pow, Claims("new")), Is.Null);
        Assert.That(p.Gate.Check(s_client, pow, Claims("other")), Is.Not.Null, "replayed");
    }

    [Test]
    public void ModeOn_ASolutionFromAnotherAddress_IsRefused()
    {
        using var p = new Parts(Options(), new FakeTimeProvider());
        p.Mode.Set(true, "operator", "test");

        var refusal = p.Gate.Check(s_client, p.Pow(IPAddress.Parse("127.0.0.10")), Claims("new"));

        Assert.That(refusal?.Reason, Is.EqualTo("challenge-invalid"));
    }

    [Test]
    public void ModeOn_ASubThatHadASessionWithinTheResumeWindow_IsExempt_AndNotAfterIt()
    {
        var time = new FakeTimeProvider();
        using var p = new Parts(Options(), time);
        Assert.That(p.Gate.Check(s_client, null, Claims("resumer")), Is.Null, "admitted while the mode was off");

        p.Mode.Set(true, "operator", "test");
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.That(p.Gate.Check(s_client, null, Claims("resumer")), Is.Null, "a resume within 10 min needs no challenge");

        time.Advance(TimeSpan.FromMinutes(21));
        Assert.That(p.Gate.Check(s_client, null, Claims("resumer")), Is.Not.Null, "30 min later it is a new session");
    }

    [Test]
    public void ModeOn_ASubWithASessionOpenNow_IsExempt_HoweverLongAgoItStarted()
    {
        var time = new FakeTimeProvider();
        using var p = new Parts(Options(), time, "s1/long-lived");
        time.Advance(TimeSpan.FromHours(3));
        p.Mode.Set(true, "operator", "test");

        Assert.That(p.Gate.Check(s_client, null, Claims("long-lived")), Is.Null);
    }

    [Test]
    public void RateLimits_PerAddress_ThenPerPrefix_RefuseByReason()
    {
        var options = Options();
        options.RateLimitAlways = true;
        options.ConnectionBurstPerAddress = 3;
        options.ConnectionsPerSecondPerAddress = 1;
        options.ConnectionBurstPerPrefix = 5;
        options.ConnectionsPerSecondPerPrefix = 1;
        using var p = new Parts(options, new FakeTimeProvider());

        for (int i = 0; i < 3; i++)
        {
            Assert.That(p.Gate.Check(IPAddress.Parse("10.1.2.3"), null, Claims($"a{i}")), Is.Null);
        }

        Assert.That(p.Gate.Check(IPAddress.Parse("10.1.2.3"), null, Claims("a3"))?.Reason, Is.EqualTo("rate-address"));
        Assert.That(p.Gate.Check(IPAddress.Parse("10.1.2.4"), null, Claims("b0")), Is.Null, "same /24, another address");
        Assert.That(p.Gate.Check(IPAddress.Parse("10.1.2.5"), null, Claims("b1")), Is.Null);
        Assert.That(p.Gate.Check(IPAddress.Parse("10.1.2.6"), null, Claims("b2"))?.Reason, Is.EqualTo("rate-prefix"), "the /24 has had 5");
        Assert.That(p.Gate.Check(IPAddress.Parse("10.1.3.6"), null, Claims("c0")), Is.Null, "another /24");
        Assert.That(p.Gate.Check(IPAddress.Parse("2001:db8:1:2::1"), null, Claims("d0")), Is.Null);
        Assert.That(p.Metrics.Refusals(), Is.EquivalentTo(new Dictionary<string, long> { ["rate-address"] = 1, ["rate-prefix"] = 1 }));
    }

    [Test]
    public void RateLimits_IPv6_CountPerSlash48()
    {
        var options = Options();
        options.RateLimitAlways = true;
        options.ConnectionBurstPerAddress = 100;
        options.ConnectionBurstPerPrefix = 2;
        options.ConnectionsPerSecondPerPrefix = 1;
        using var p = new Parts(options, new FakeTimeProvider());

        Assert.That(p.Gate.Check(IPAddress.Parse("2001:db8:1:2::1"), null, Claims("a")), Is.Null);
        Assert.That(p.Gate.Check(IPAddress.Parse("2001:db8:1:ffff::2"), null, Claims("b")), Is.Null);
        Assert.That(p.Gate.Check(IPAddress.Parse("2001:db8:1:9::3"), null, Claims("c"))?.Reason, Is.EqualTo("rate-prefix"));
        Assert.That(p.Gate.Check(IPAddress.Parse("2001:db8:2::3"), null, Claims("d")), Is.Null, "another /48");
    }

    [Test]
    public void RateLimits_ApplyOnlyWhileTheModeIsOn_ByDefault()
    {
        var options = Options();
        options.ConnectionBurstPerAddress = 1;
        options.ConnectionsPerSecondPerAddress = 1;
        using var p = new Parts(options, new FakeTimeProvider());

        Assert.That(p.Gate.Check(s_client, null, Claims("a")), Is.Null);
        Assert.That(p.Gate.Check(s_client, null, Claims("a")), Is.Null, "mode off: no rate limit");
        p.Mode.Set(true, "operator", "test");
        Assert.That(p.Gate.Check(s_client, null, Claims("a")), Is.Null, "a resume, first in the bucket");
        Assert.That(p.Gate.Check(s_client, null, Claims("a"))?.Reason, Is.EqualTo("rate-address"));
    }
}
