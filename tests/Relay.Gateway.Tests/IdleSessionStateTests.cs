using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;

namespace Relay.Gateway.Tests;

/// <summary>Issue 21: what an idle session keeps in the gateway, and that keeping less loses nothing.</summary>
public class IdleSessionStateTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task TokenExpiries_OnOneSharedTimer_ExpiredSessionClosedWith4003_EndedSessionLeavesAtOnce(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        var expiry = gw.App.Services.GetRequiredService<Sessions.SessionEndpoint>().Expiry;
        using var longLived = await gw.ConnectAsync(GatewayFixture.Token("v-long", lifetime: TimeSpan.FromHours(1)), ct: token);
        using var shortLived = await gw.ConnectAsync(GatewayFixture.Token("v-short", lifetime: TimeSpan.FromSeconds(2)), ct: token);
        await UntilAsync(() => expiry.Count == 2, token);

        // An ended session is not held until its token's expiry (an hour here).
        await longLived.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        await UntilAsync(() => expiry.Count == 1, token);

        // The other one expires on the shared timer: 4003, and it leaves too.
        var buffer = new byte[1024];
        var result = await shortLived.ReceiveAsync(buffer, token);
        Assert.That((result.MessageType, shortLived.CloseStatus), Is.EqualTo((WebSocketMessageType.Close, (WebSocketCloseStatus?)(WebSocketCloseStatus)4003)));
        Assert.That(shortLived.CloseStatusDescription, Does.Contain("token expired"));
        await UntilAsync(() => expiry.Count == 0, token);
    }

    private static async Task UntilAsync(Func<bool> condition, CancellationToken token)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50, token);
        }

        Assert.That(condition(), Is.True);
    }
}
