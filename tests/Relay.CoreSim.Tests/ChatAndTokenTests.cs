using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using Relay.Client;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Http;

namespace Relay.CoreSim.Tests;

[TestFixture]
public sealed class ChatAndTokenTests
{
    private CoreSimHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _host = await CoreSimFixture.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    [Test]
    [CancelAfter(20_000)]
    public async Task Room_VisitorAndThreeOperators_EveryOtherMemberGetsEachMessage(CancellationToken ct)
    {
        await using var visitor = CoreSimFixture.Client(_host, "v1", "visitor", "v1");
        var operators = new[] { "o1", "o2", "o3" }.Select(id => CoreSimFixture.Client(_host, id, "operator", "v1")).ToArray();
        await visitor.ConnectAsync(ct);
        foreach (var op in operators)
        {
            await op.ConnectAsync(ct);
        }

        await visitor.SendAsync("hello, anyone?", "v1", ct);
        foreach (var op in operators)
        {
            var got = await CoreSimFixture.ReadAsync(op, 1, ct);
            Assert.That(got.Select(m => (m.Room, m.From, m.Body)), Is.EqualTo(new[] { ((string?)"v1", (string?)"v1", "hello, anyone?") }));
        }

        await operators[0].SendAsync("o1 here", "v1", ct);
        Assert.That((await CoreSimFixture.ReadAsync(visitor, 1, ct)).Single().Body, Is.EqualTo("o1 here"));
        foreach (var op in operators.Skip(1))
        {
            Assert.That((await CoreSimFixture.ReadAsync(op, 1, ct)).Single().From, Is.EqualTo("o1"));
        }

        foreach (var op in operators)
        {
            await op.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task IssuedToken_VerifiesWithPublishedKey(CancellationToken ct)
    {
        var issued = await CoreSimFixture.PostAsync(_host, "/v1/tokens", new { sub = "v1", site = "s1", role = "operator" });
        using var http = new HttpClient { BaseAddress = _host.HttpUri };
        var pem = await http.GetStringAsync("/v1/public-key.pem", ct);
        var jwks = await CoreSimFixture.GetAsync(_host, "/v1/jwks");
        var result = TokenVerifier.FromPem(pem).Verify(issued.GetProperty("token").GetString());
        Assert.Multiple(() =>
        {
            Assert.That(result.IsValid, Is.True, result.Error);
            Assert.That(result.Claims?.Role, Is.EqualTo("operator"));
            Assert.That(jwks.GetProperty("keys")[0].GetProperty("alg").GetString(), Is.EqualTo("ES256"));
        });
    }

    [TestCase("forged")]
    [TestCase("expired")]
    [TestCase("wrong-role")]
    [TestCase("missing")]
    [TestCase("tampered")]
    [CancelAfter(20_000)]
    public async Task BadToken_RefusedWith401BeforeUpgrade(string kind, CancellationToken ct)
    {
        using var other = new TokenIssuer();
        string token = kind switch
        {
            "forged" => other.Issue("v1", "s1", "visitor", TimeSpan.FromHours(1)).Token,
            "expired" => _host.Tokens.Issue("v1", "s1", "visitor", TimeSpan.FromMinutes(-5)).Token,
            "wrong-role" => _host.Tokens.Issue("v1", "s1", "admin", TimeSpan.FromHours(1)).Token,
            "tampered" => Tamper(_host.Tokens.Issue("v1", "s1", "visitor", TimeSpan.FromHours(1)).Token),
            _ => string.Empty,
        };
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(CoreSimFixture.WsUri(_host, token), ct));
        Assert.That(socket.HttpStatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TokenEndpoint_WrongRole_IsBadRequest(CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = _host.HttpUri };
        using var response = await http.PostAsync("/v1/tokens", new StringContent("""{"sub":"v1","site":"s1","role":"admin"}""", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TokenEndpoint_SubOrSiteOverTheLimit_IsBadRequest(CancellationToken ct)
    {
        // A relay's OPEN carries them (and site/sub as its session key); the core refuses an OPEN over OpenInfo.MaxChars.
        using var http = new HttpClient { BaseAddress = _host.HttpUri };
        string longest = new('v', TokenEndpoint.MaxClaimChars);
        foreach (var (sub, site, expected) in new[] { (longest, longest, HttpStatusCode.OK), (longest + "v", "s1", HttpStatusCode.BadRequest), ("v1", longest + "s", HttpStatusCode.BadRequest) })
        {
            using var response = await http.PostAsJsonAsync("/v1/tokens", new { sub, site, role = "visitor" }, ct);
            Assert.That(response.StatusCode, Is.EqualTo(expected), $"sub {sub.Length}, site {site.Length} characters");
        }
    }

    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1])).Replace("\"visitor\"", "\"operator\"", StringComparison.Ordinal);
        return parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
    }
}
