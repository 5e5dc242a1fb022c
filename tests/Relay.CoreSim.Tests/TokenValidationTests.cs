using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Tests;

/// <summary>Issue 16 item 6: iss, aud, nbf, kid, a small clock skew on a TimeProvider, and key rotation with overlap.</summary>
[TestFixture]
public sealed class TokenValidationTests
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void Issue_CarriesIssAudNbfAndKid_AndVerifies()
    {
        var time = new FakeTimeProvider(s_start);
        using var issuer = new TokenIssuer(timeProvider: time);
        var (token, _) = issuer.Issue("v1", "s1", "visitor", TimeSpan.FromMinutes(5));
        var parts = token.Split('.');
        using var header = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[0]));
        using var payload = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
        var result = issuer.CreateVerifier().Verify(token);
        Assert.Multiple(() =>
        {
            Assert.That(header.RootElement.GetProperty("alg").GetString(), Is.EqualTo("ES256"));
            Assert.That(header.RootElement.GetProperty("kid").GetString(), Is.EqualTo(issuer.KeyId));
            Assert.That(payload.RootElement.GetProperty("iss").GetString(), Is.EqualTo(TokenIssuer.DefaultIssuer));
            Assert.That(payload.RootElement.GetProperty("aud").GetString(), Is.EqualTo(TokenIssuer.DefaultAudience));
            Assert.That(payload.RootElement.GetProperty("nbf").GetInt64(), Is.EqualTo(s_start.ToUnixTimeSeconds()));
            Assert.That(result.Error, Is.Null);
            Assert.That(result.Claims, Is.EqualTo(new TokenClaims("v1", "s1", "visitor", s_start.AddMinutes(5)) { AuthTime = s_start }), "no auth_time: signed in at its iat");
        });
    }

    [Test]
    public void Verify_ExpiryWithFiveSecondsOfSkew_OnTheTimeProvider()
    {
        var time = new FakeTimeProvider(s_start);
        using var issuer = new TokenIssuer(timeProvider: time);
        var verifier = issuer.CreateVerifier();
        var (token, _) = issuer.Issue("v1", "s1", "visitor", TimeSpan.FromSeconds(60));
        time.Advance(TimeSpan.FromSeconds(64));
        Assert.That(verifier.Verify(token).Error, Is.Null, "within the 5 s skew");
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(verifier.Verify(token).Error, Is.EqualTo("expired"), "6 s after exp (the old verifier allowed 30 s)");
    }

    [Test]
    public void Verify_NotBeforeInTheFuture_IsRefused()
    {
        var later = new FakeTimeProvider(s_start.AddMinutes(10));
        using var issuer = new TokenIssuer(timeProvider: later);
        var (token, _) = issuer.Issue("v1", "s1", "visitor", TimeSpan.FromMinutes(5));
        var verifier = new TokenVerifier([], new FakeTimeProvider(s_start));
        verifier.ReplaceKeys(TokenVerifier.KeysFromJwks(issuer.JwksJson));
        Assert.That(verifier.Verify(token).Error, Is.EqualTo("not yet valid"));
    }

    [TestCase("other-issuer", TokenIssuer.DefaultAudience, "wrong issuer")]
    [TestCase(TokenIssuer.DefaultIssuer, "other-audience", "wrong audience")]
    public void Verify_WrongIssuerOrAudience_IsRefused(string iss, string aud, string error)
    {
        var time = new FakeTimeProvider(s_start);
        using var issuer = new TokenIssuer(timeProvider: time, issuer: iss, audience: aud);
        var verifier = new TokenVerifier(TokenVerifier.KeysFromJwks(issuer.JwksJson), time);
        Assert.That(verifier.Verify(issuer.Issue("v1", "s1", "visitor", TimeSpan.FromMinutes(5)).Token).Error, Is.EqualTo(error));
    }

    [Test]
    public void Verify_UnknownKid_IsRefusedAndReported()
    {
        var time = new FakeTimeProvider(s_start);
        using var issuer = new TokenIssuer(timeProvider: time);
        using var other = new TokenIssuer(timeProvider: time);
        var verifier = new TokenVerifier(TokenVerifier.KeysFromJwks(issuer.JwksJson), time);
        var unknown = new List<string?>();
        verifier.UnknownKeyId = unknown.Add;
        Assert.That(verifier.Verify(other.Issue("v1", "s1", "visitor", TimeSpan.FromMinutes(5)).Token).Error, Is.EqualTo("unknown kid"));
        Assert.That(unknown, Is.EqualTo(new[] { other.KeyId }));
    }

    [Test]
    public void Verify_HandMadeTokenWithoutSignature_IsRefused()
    {
        using var issuer = new TokenIssuer();
        string header = System.Buffers.Text.Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8);
        string payload = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes($$"""{"sub":"v1","site":"s1","role":"operator","iss":"relay-core","aud":"relay","exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}"""));
        Assert.That(issuer.CreateVerifier().Verify($"{header}.{payload}.").IsValid, Is.False);
    }

    [Test]
    public void Rotate_OldKeyStaysPublishedForTheOverlap_BothVerify_ThenOnlyTheNew()
    {
        var time = new FakeTimeProvider(s_start);
        using var issuer = new TokenIssuer(timeProvider: time, keyOverlap: TimeSpan.FromMinutes(10));
        var verifier = issuer.CreateVerifier();
        var (old, _) = issuer.Issue("v1", "s1", "visitor", TimeSpan.FromHours(1));
        string oldKid = issuer.KeyId;
        string newKid = issuer.Rotate();
        var (fresh, _) = issuer.Issue("v2", "s1", "visitor", TimeSpan.FromHours(1));
        Assert.Multiple(() =>
        {
            Assert.That(newKid, Is.Not.EqualTo(oldKid));
            Assert.That(Kids(issuer.JwksJson), Is.EqualTo(new[] { newKid, oldKid }), "current first, then the rotated-out key");
            Assert.That(verifier.Verify(old).Error, Is.Null, "a token of the old key still verifies during the overlap");
            Assert.That(verifier.Verify(fresh).Error, Is.Null);
        });

        time.Advance(TimeSpan.FromMinutes(11));
        Assert.Multiple(() =>
        {
            Assert.That(Kids(issuer.JwksJson), Is.EqualTo(new[] { newKid }));
            Assert.That(verifier.Verify(old).Error, Is.EqualTo("unknown kid"));
            Assert.That(verifier.Verify(fresh).Error, Is.Null);
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task CoreSim_ServesWellKnownJwks_WithBothKeysAfterARotation(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        string before = host.Tokens.KeyId;
        string after = host.Tokens.Rotate();
        using var http = new HttpClient { BaseAddress = host.HttpUri };
        string json = await http.GetStringAsync("/.well-known/jwks.json", ct);
        Assert.That(Kids(json), Is.EqualTo(new[] { after, before }));
        var keys = TokenVerifier.KeysFromJwks(json);
        var verifier = new TokenVerifier(keys);
        Assert.That(verifier.Verify(host.Tokens.Issue("v1", "s1", "visitor", TimeSpan.FromMinutes(5)).Token).Error, Is.Null);
    }

    private static string[] Kids(string jwks)
    {
        using var doc = JsonDocument.Parse(jwks);
        return doc.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!).ToArray();
    }
}
