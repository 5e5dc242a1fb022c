using System.Net;
using Microsoft.Extensions.Time.Testing;
using Relay.Contracts.Challenges;
using Relay.Gateway.Security;

namespace Relay.Gateway.Tests.Security;

/// <summary>Issue 16, Under Attack mode: the proof-of-work challenge is stateless, bound to the address, short-lived.</summary>
public class ChallengeTests
{
    private static readonly IPAddress s_client = IPAddress.Parse("127.0.0.5");

    private static ChallengeIssuer Issuer(FakeTimeProvider time, int difficulty = 8) =>
        new(Microsoft.Extensions.Options.Options.Create(new UnderAttackOptions { Difficulty = difficulty, ChallengeLifetime = TimeSpan.FromSeconds(60) }), time);

    private static string Solve(Challenge challenge) => challenge.Value + "." + ProofOfWork.Solve(challenge.Value, challenge.Difficulty, CancellationToken.None);

    [Test]
    public void Solved_FromTheSameAddress_BeforeExpiry_IsValid()
    {
        var time = new FakeTimeProvider();
        var issuer = Issuer(time);
        var challenge = issuer.Issue(s_client);

        Assert.That(challenge.Difficulty, Is.EqualTo(8));
        Assert.That(challenge.ExpiresAt, Is.EqualTo(time.GetUtcNow() + TimeSpan.FromSeconds(60)));
        Assert.That(issuer.Verify(Solve(challenge), s_client), Is.EqualTo(ChallengeResult.Valid));
    }

    [Test]
    public void Solved_FromAnotherAddress_IsRefused()
    {
        var issuer = Issuer(new FakeTimeProvider());
        string pow = Solve(issuer.Issue(s_client));

        Assert.That(issuer.Verify(pow, IPAddress.Parse("127.0.0.6")), Is.EqualTo(ChallengeResult.Invalid));
    }

    [Test]
    public void Solved_AfterExpiry_IsRefused()
    {
        var time = new FakeTimeProvider();
        var issuer = Issuer(time);
        string pow = Solve(issuer.Issue(s_client));

        time.Advance(TimeSpan.FromSeconds(61));

        Assert.That(issuer.Verify(pow, s_client), Is.EqualTo(ChallengeResult.Expired));
    }

    [Test]
    public void ASecondUse_OfOneSolution_IsRefusedAsAReplay()
    {
        var issuer = Issuer(new FakeTimeProvider());
        string pow = Solve(issuer.Issue(s_client));

        Assert.That(issuer.Verify(pow, s_client), Is.EqualTo(ChallengeResult.Valid));
        Assert.That(issuer.Verify(pow, s_client), Is.EqualTo(ChallengeResult.Replayed));
    }

    [Test]
    public void ANonceThatDoesNotMeetTheDifficulty_IsRefused()
    {
        var issuer = Issuer(new FakeTimeProvider(), difficulty: 16);
        var challenge = issuer.Issue(s_client);
        string nonce = Enumerable.Range(0, 100_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .First(n => !ProofOfWork.Meets(challenge.Value, n, 16));

        Assert.That(issuer.Verify(challenge.Value + "." + nonce, s_client), Is.EqualTo(ChallengeResult.Unsolved));
    }

    [TestCase("")]
    [TestCase("no-dot")]
    [TestCase("AAAA.1")]
    [TestCase("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!.1")]
    public void Garbage_IsRefused_WithoutThrowing(string pow)
    {
        Assert.That(Issuer(new FakeTimeProvider()).Verify(pow, s_client), Is.EqualTo(ChallengeResult.Invalid));
    }

    [Test]
    public void AChallengeFromAnotherGateway_IsRefused()
    {
        var time = new FakeTimeProvider();
        string pow = Solve(Issuer(time).Issue(s_client)); // another process: another random secret

        Assert.That(Issuer(time).Verify(pow, s_client), Is.EqualTo(ChallengeResult.Invalid));
    }

    [Test]
    public void LeadingZeroBits_CountsBitsNotBytes()
    {
        Assert.That(ProofOfWork.LeadingZeroBits([0x00, 0x00, 0x3F, 0xFF]), Is.EqualTo(18));
        Assert.That(ProofOfWork.LeadingZeroBits([0x80]), Is.EqualTo(0));
        Assert.That(ProofOfWork.LeadingZeroBits([0x00, 0x01]), Is.EqualTo(15));
    }
}
