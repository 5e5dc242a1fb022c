using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Relay.Gateway.Sessions;
using Relay.Tunnel.Streams;

namespace Relay.Gateway.Tests;

/// <summary>
/// The core's close reaches the client whatever its reason: the reason is cut at a character to the 123 UTF-8 bytes a
/// close frame has room for (<c>RelaySession.CloseFrame</c>). Until stop 42 it was cut to 120 characters: 120 non-ASCII
/// characters are up to 360 bytes, the websocket threw, and the session's end never ran (out of the registry, the per-IP
/// slot and the gate's place given back, the stream aborted, the expiry timer stopped); the client got 1006. A reason
/// that echoes a user's input (a room name) made it reachable from a client (found by a security review).
/// </summary>
[NonParallelizable]
public class CoreCloseReasonTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task CoreClosesWithALongNonAsciiReason_ClientGetsTheCode_AndTheSessionEnds(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        gw.CoreHandler = async (stream, ct) =>
        {
            using var first = await stream.ReceiveAsync(ct);
            stream.Close(1008, "salle « " + new string('é', 110) + " » interdite");
        };

        using var ws = await gw.ConnectAsync(GatewayFixture.Token("u-reason"), ct: token);
        await ws.SendAsync(Encoding.UTF8.GetBytes("{\"type\":\"msg\"}"), WebSocketMessageType.Text, true, token);
        string closed;
        try
        {
            var buffer = new byte[4096];
            WebSocketReceiveResult r;
            do
            {
                r = await ws.ReceiveAsync(buffer, token);
            }
            while (r.MessageType != WebSocketMessageType.Close);
            closed = ((int?)ws.CloseStatus)?.ToString() ?? "none";
            // The client answers the close, as a browser does: the gateway then ends the session at once. (Until stop 45
            // it did not, and the session ended only at the gateway's 5 s CloseTimeout, which raced the 5 s wait below:
            // CI failed on it once.)
            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, token);
        }
        catch (WebSocketException e)
        {
            closed = "1006 (" + e.WebSocketErrorCode + ")";
        }

        var registry = gw.App.Services.GetRequiredService<SessionRegistry>();
        for (int i = 0; i < 50 && registry.Count > 0; i++)
        {
            await Task.Delay(100, token);
        }

        Assert.Multiple(() =>
        {
            Assert.That(closed, Is.EqualTo("1008"), "the core's close code reaches the client");
            Assert.That(registry.Count, Is.Zero, "the ended session left the registry (and gave back its per-IP slot)");
        });
    }

    [TestCase(1000, 1000)]
    [TestCase(1003, 1003)]
    [TestCase(1014, 1014)]
    [TestCase(4999, 4999)]
    [TestCase(1004, 1011)]
    [TestCase(1005, 1011)]
    [TestCase(1006, 1011)]
    [TestCase(1015, 1011)]
    [TestCase(999, 1011)]
    [TestCase(2999, 1011)]
    [TestCase(5000, 1011)]
    [TestCase(0, 1011)]
    public void CloseFrame_CodeAnEndpointMayNotSend_Is1011(int code, int sent)
    {
        Assert.That((int)RelaySession.CloseFrame(code, "x").Status, Is.EqualTo(sent));
    }

    [Test]
    public void CloseFrame_Reason_IsCutAtACharacter_To123Utf8Bytes()
    {
        string ascii = new('a', 200);
        string accents = new('é', 100); // 2 bytes each
        string emoji = string.Concat(Enumerable.Repeat("😀", 40)); // 4 bytes each, a surrogate pair

        Assert.Multiple(() =>
        {
            Assert.That(RelaySession.CloseFrame(1008, ascii).Reason, Is.EqualTo(new string('a', 123)));
            Assert.That(RelaySession.CloseFrame(1008, accents).Reason, Is.EqualTo(new string('é', 61)));
            Assert.That(RelaySession.CloseFrame(1008, emoji).Reason, Is.EqualTo(string.Concat(Enumerable.Repeat("😀", 30))));
            Assert.That(RelaySession.CloseFrame(1008, "short").Reason, Is.EqualTo("short"));
            Assert.That(RelaySession.CloseFrame(1008, null).Reason, Is.Empty);
        });
    }
}
