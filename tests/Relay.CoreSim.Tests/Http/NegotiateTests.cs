using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Tests.Http;

/// <summary>core-sim's negotiate (issue 17): a fresh token for one this core signed (valid, or expired within the window), in any environment.</summary>
[TestFixture]
public sealed class NegotiateTests
{
    [TestCase(60, TestName = "Refresh_ValidToken_ReturnsAFreshTokenWithTheSameClaims")]
    [TestCase(-300, TestName = "Refresh_TokenExpiredWithinTheWindow_ReturnsAFreshToken")]
    public async Task Refresh_ReturnsAFreshTokenWithTheSameClaims(int lifetimeSeconds)
    {
        await using var host = await StartAsync(Environments.Production);
        var (old, _) = host.Tokens.Issue("v-refresh", "s-refresh", "operator", TimeSpan.FromSeconds(lifetimeSeconds));

        using var response = await PostAsync(host, old);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        string fresh = answer.RootElement.GetProperty("token").GetString()!;
        var claims = host.Tokens.CreateVerifier().Verify(fresh).Claims;
        Assert.Multiple(() =>
        {
            Assert.That(fresh, Is.Not.EqualTo(old));
            Assert.That(claims, Is.Not.Null, "the fresh token verifies");
            Assert.That((claims!.Subject, claims.Site, claims.Role), Is.EqualTo(("v-refresh", "s-refresh", "operator")));
            Assert.That(claims.ExpiresAt, Is.GreaterThan(DateTimeOffset.UtcNow.AddMinutes(50)), "a new exp: DefaultTokenLifetime (1 h) from now");
            Assert.That(answer.RootElement.GetProperty("relays").GetArrayLength(), Is.Zero);
            Assert.That(answer.RootElement.GetProperty("reason").GetString(), Is.Not.Empty);
        });
    }

    [Test]
    public async Task Refresh_TokenExpiredBeyondTheWindow_Is401()
    {
        await using var host = await StartAsync(Environments.Production);
        var (old, _) = host.Tokens.Issue("v-old", "s1", "visitor", TimeSpan.FromMinutes(-11));

        using var response = await PostAsync(host, old);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("expired more than"));
    }

    [Test]
    public async Task Refresh_ChainedEvery50Minutes_EndsAtMaxSessionAge_SignInAgain()
    {
        // A review found refreshes chaining without end: a stolen token never had to expire. The first issue time now
        // rides along (auth_time; the first token's iat), and no refreshed token outlives it by more than MaxSessionAge.
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        await using var host = await CoreSimFixture.StartAsync(time, o =>
        {
            o.AdminKey = "negotiate-test-admin-key-0123456789";
            o.TokenRefreshWindow = TimeSpan.FromMinutes(10);
        }, Environments.Production);
        var (token, _) = host.Tokens.Issue("v-chain", "s1", "visitor", TimeSpan.FromHours(1));
        var expiries = new List<DateTimeOffset>();
        HttpResponseMessage? refused = null;
        for (int i = 0; i < 40 && refused is null; i++)
        {
            time.Advance(TimeSpan.FromMinutes(50));
            var response = await PostAsync(host, token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refused = response;
                break;
            }

            using (response)
            {
                using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                token = answer.RootElement.GetProperty("token").GetString()!;
                expiries.Add(host.Tokens.CreateVerifier().Verify(token).Claims!.ExpiresAt);
            }
        }

        using (refused)
        {
            Assert.That(refused, Is.Not.Null, "a refresh chain ends (default CoreSim:MaxSessionAge: 24 h)");
            string error = await refused!.Content.ReadAsStringAsync();
            Assert.Multiple(() =>
            {
                Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
                Assert.That(error, Does.Contain("sign in again").And.Contain("MaxSessionAge"));
                Assert.That(time.GetUtcNow() - start, Is.GreaterThan(TimeSpan.FromHours(24)).And.LessThan(TimeSpan.FromHours(25)), "refused only past 24 h");
                Assert.That(expiries, Has.Count.EqualTo(28), "a refresh every 50 minutes for 24 hours");
                Assert.That(expiries, Has.All.LessThanOrEqualTo(start.AddHours(24)), "no refreshed token runs past the first issue + 24 h");
                Assert.That(expiries[^1], Is.EqualTo(start.AddHours(24)), "the last one is cut to it");
            });
        }
    }

    [Test]
    public async Task Refresh_ForeignSignatureOrNoToken_Is401()
    {
        await using var host = await StartAsync(Environments.Production);
        using var foreign = new TokenIssuer();
        var (token, _) = foreign.Issue("v-forged", "s1", "operator", TimeSpan.FromMinutes(5));

        using var forged = await PostAsync(host, token);
        using var none = await PostAsync(host, null);

        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await forged.Content.ReadAsStringAsync(), Does.Not.Contain("\"token\""));
    }

    [Test]
    public async Task Get_WithoutRegionsFile_HasNoTokenAndNoRelays_UntilOneConnects()
    {
        await using var host = await StartAsync(Environments.Development);
        using var http = new HttpClient { BaseAddress = host.HttpUri };

        using var answer = JsonDocument.Parse(await http.GetStringAsync("/v1/negotiate"));

        Assert.That(answer.RootElement.GetProperty("token").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(answer.RootElement.GetProperty("reason").GetString(), Is.EqualTo("no regions file: every connected relay by weight; no healthy relay anywhere"));
    }

    private static Task<CoreSimHost> StartAsync(string environment) => CoreSimHost.StartAsync(environment, o =>
    {
        o.BindAddress = "127.0.0.1";
        o.HttpPort = 0;
        o.BackhaulPort = 0;
        o.AdminKey = "negotiate-test-admin-key-0123456789";
        o.TokenRefreshWindow = TimeSpan.FromMinutes(10);
    });

    private static async Task<HttpResponseMessage> PostAsync(CoreSimHost host, string? token)
    {
        using var http = new HttpClient { BaseAddress = host.HttpUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/negotiate");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await http.SendAsync(request);
    }
}
