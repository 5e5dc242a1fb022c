using Relay.Tunnel.Tests.TestTransport;

namespace Relay.Tunnel.Tests.Server;

/// <summary>
/// The core never sends a command frame larger than a relay takes: the relay would close the link as a protocol error.
/// A review found the fleet view, copied from relays' reports and sent to every relay every second, could grow past it.
/// </summary>
public class CommandSizeTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task CommandTooLargeForTheLink_IsNotSent_AndTheLinkStaysUp_AndTheNextCommandArrives(CancellationToken token)
    {
        await using var backhaul = await InMemoryBackhaul.StartAsync(token);
        var received = new List<(string Name, int Length)>();
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        backhaul.Pool.CommandReceived += (name, payload) =>
        {
            lock (received)
            {
                received.Add((name, payload.Length));
            }

            if (name == "small")
            {
                second.TrySetResult();
            }
        };
        string relay = backhaul.Listener.Relays().Single().RelayId;

        bool sentHuge = backhaul.Listener.SendCommand(relay, "huge", new byte[300 * 1024]);
        bool sentSmall = backhaul.Listener.SendCommand(relay, "small", new byte[10]);
        await second.Task.WaitAsync(token);

        Assert.That((sentHuge, sentSmall), Is.EqualTo((false, true)));
        Assert.That(received, Is.EqualTo(new[] { ("small", 10) }));
        Assert.That(backhaul.Pool.LinksUp, Is.EqualTo(1), "the link was not closed");
    }
}
