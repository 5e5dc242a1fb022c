using System.Text;
using Relay.Contracts.Sessions;

namespace Relay.Contracts.Tests.Sessions;

/// <summary>Issue 22: the one decision relay and core both make over the same bytes, and the OPEN claims they share.</summary>
public class EdgeWelcomeTests
{
    [TestCase("""{"type":"hello"}""", true)]
    [TestCase("""{"type":"hello","rooms":["v1"]}""", false)] // the core welcomes once the rooms are joined
    [TestCase("""{"type":"hello","rooms":[]}""", true)]
    [TestCase("""{"type":"hello","resume":{"session":"abc","resumeToken":"t","lastSeq":3}}""", false)]
    [TestCase("""{"type":"msg","seq":1,"body":"x"}""", false)]
    [TestCase("""not json""", false)]
    [TestCase("""[]""", false)]
    public void IsFreshHello_OnlyAHelloWithoutResumeOrRooms(string json, bool fresh) =>
        Assert.That(EdgeWelcome.IsFreshHello(Encoding.UTF8.GetBytes(json)), Is.EqualTo(fresh));

    [Test]
    public void IsFreshHello_OverTheCap_IsLeftToTheCore()
    {
        string padded = "{\"type\":\"hello\",\"pad\":\"" + new string('x', EdgeWelcome.MaxHelloBytes) + "\"}";
        Assert.That(EdgeWelcome.IsFreshHello(Encoding.UTF8.GetBytes(padded)), Is.False);
    }

    [Test]
    public void Mint_ThenTryRead_RoundTrips_AndIdsDiffer()
    {
        var (session, token) = EdgeWelcome.Mint();
        var claims = new Dictionary<string, string> { [EdgeWelcome.SessionClaim] = session, [EdgeWelcome.ResumeTokenClaim] = token };
        Assert.That(EdgeWelcome.TryRead(claims, out var readSession, out var readToken), Is.True);
        Assert.That((readSession, readToken), Is.EqualTo((session, token)));
        Assert.That(EdgeWelcome.Mint().Session, Is.Not.EqualTo(session));
    }

    [TestCase("ABCDEF0123456789abcdef0123456789", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // upper-case hex
    [TestCase("0123", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // short id
    [TestCase("0123456789abcdef0123456789abcdef", "short")] // short token
    [TestCase("0123456789abcdef0123456789abcdef", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/")] // not base64url
    public void TryRead_RefusesMalformedClaims(string session, string token)
    {
        var claims = new Dictionary<string, string> { [EdgeWelcome.SessionClaim] = session, [EdgeWelcome.ResumeTokenClaim] = token };
        Assert.That(EdgeWelcome.TryRead(claims, out _, out _), Is.False);
    }

    [Test]
    public void TryRead_WithoutClaims_IsFalse() =>
        Assert.That(EdgeWelcome.TryRead(new Dictionary<string, string> { ["sub"] = "v1" }, out _, out _), Is.False);
}
