using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Relay.Gateway.Tests.Security;

/// <summary>
/// POST /admin/under-attack?on=true|false as PROTOCOL.md documents it. A new-user review found any other value, or
/// none, turning the mode on (the check was <c>on != "false"</c>): <c>?on=0</c> or <c>?on=off</c> asked new sessions
/// for proof of work.
/// </summary>
public class UnderAttackAdminTests
{
    [TestCase(null)]
    [TestCase("0")]
    [TestCase("off")]
    [TestCase("maybe")]
    [CancelAfter(30_000)]
    public async Task AnythingButTrueOrFalse_Is400_AndTheModeStaysAsItWas(string? on, CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var admin = new HttpClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "admin-test-key");
        string query = on is null ? string.Empty : $"?on={on}";

        using var answer = await admin.PostAsync($"{gw.HttpUrl}/admin/under-attack{query}", null, token);

        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await answer.Content.ReadAsStringAsync(token), Does.Contain("on=true").And.Contain("on=false"));
        Assert.That(await UnderAttackAsync(gw, token), Is.False, "the mode is not switched by a request it refused");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TrueAndFalse_SwitchTheMode(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var admin = new HttpClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "admin-test-key");

        Assert.That((await admin.PostAsync($"{gw.HttpUrl}/admin/under-attack?on=true", null, token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await UnderAttackAsync(gw, token), Is.True);
        Assert.That((await admin.PostAsync($"{gw.HttpUrl}/admin/under-attack?on=false", null, token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await UnderAttackAsync(gw, token), Is.False);
    }

    private static async Task<bool> UnderAttackAsync(GatewayFixture gw, CancellationToken token)
    {
        using var http = new HttpClient();
        using var challenge = JsonDocument.Parse(await http.GetStringAsync($"{gw.HttpUrl}/challenge", token));
        return challenge.RootElement.GetProperty("underAttack").GetBoolean();
    }
}
