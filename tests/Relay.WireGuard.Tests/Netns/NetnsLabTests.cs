namespace Relay.WireGuard.Tests.Netns;

/// <summary>The lab every namespace test stands on: its names carry its own prefix, and disposing it leaves nothing behind.</summary>
[NonParallelizable]
public class NetnsLabTests
{
    [Test]
    public void Dispose_AfterAFailure_RemovesItsNamespacesLinksAndProcesses()
    {
        if (NetnsLab.CheckPrerequisites() is { } missing)
        {
            Assert.Ignore(missing);
        }

        string ns = "", rootLink = "";
        int sleeper = 0;
        var lab = new NetnsLab();
        try
        {
            ns = lab.Namespace("t");
            rootLink = $"rt{lab.Id}";
            lab.Veth(null, rootLink, $"10.216.{lab.Octet}.1/24", ns, $"vt{lab.Id}", $"10.216.{lab.Octet}.2/24");
            sleeper = lab.Start(ns, "sleep", logPath: null, "sleep", "300").Id;
            Assert.That(ns, Does.StartWith($"rly-{lab.Id}-"));
            Assert.That(NetnsLab.Run("ip", "netns", "list"), Does.Contain(ns));
            throw new InvalidOperationException("the test fails here");
        }
        catch (InvalidOperationException)
        {
            // as a failing test would; its `using` disposes the lab all the same
        }
        finally
        {
            lab.Dispose();
        }

        Assert.That(NetnsLab.Run("ip", "netns", "list"), Does.Not.Contain(ns));
        Assert.That(ProcessRunner.TryRun("ip", "link", "show", rootLink), Is.Null, "the root side of the veth pair is gone");
        Assert.That(Directory.Exists($"/proc/{sleeper}"), Is.False, "the process started in the namespace is gone");
    }
}
