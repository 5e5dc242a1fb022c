using System.Diagnostics;
using Relay.Testing.Netns;

namespace Relay.Regions.Lab.Tests;

/// <summary>The lab's userspace WAN on its own: two namespaces, a TCP listener in one, connects from the other.</summary>
[NonParallelizable]
public class TunWanTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Wan_HoldsEachPacketForHalfTheRoundTrip_KeepsTheSourceAddress_AndACutRegionIsUnreachable(CancellationToken token)
    {
        if (RegionsLab.CheckPrerequisites() is { } missing)
        {
            Assert.Ignore(missing);
        }

        using var netns = new NetnsLab();
        using var wan = new TunWan(netns.Id);
        string a = netns.Namespace("a"), b = netns.Namespace("b");
        wan.Attach(a, "here", "10.90.0.1");
        wan.Attach(b, "there", "10.90.0.2");
        wan.SetRtt("here", "there", TimeSpan.FromMilliseconds(200));
        // The listener prints each peer's address; a connect from a is a TCP handshake across the WAN and back.
        var server = netns.Start(b, "listener", null, "python3", "-u", "-c",
            "import socket\ns=socket.socket()\ns.bind(('10.90.0.2',9000))\ns.listen(8)\nprint('listening',flush=True)\nwhile True:\n c,p=s.accept()\n print('peer',p[0],flush=True)\n c.close()");
        await server.WaitForOutputAsync("listening", TimeSpan.FromSeconds(20), token);

        var watch = Stopwatch.StartNew();
        NetnsLab.Exec(a, "timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/10.90.0.2/9000");
        Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190)), "a TCP handshake pays the round trip (a delay is a floor, never a ceiling)");
        await server.WaitForOutputAsync("peer 10.90.0.1", TimeSpan.FromSeconds(5), token);
        Assert.That(wan.Forwarded, Is.GreaterThanOrEqualTo(2));

        wan.SetLoss("there", 1.0);
        Assert.Throws<IOException>(() => NetnsLab.Exec(a, "timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/10.90.0.2/9000"), "a cut region answers nothing");
        Assert.That(wan.Dropped, Is.GreaterThan(0));

        wan.SetLoss("there", 0);
        NetnsLab.Exec(a, "timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/10.90.0.2/9000");
    }
}
