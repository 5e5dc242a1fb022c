using System.Diagnostics;
using Relay.LoadGen;
using Relay.Testing.Cluster;

namespace Relay.Cluster.Tests;

/// <summary>Issue 20: a core node's death under load, with rooms, through a real gateway linked to every node.</summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class NodeKillTests
{
    [SetUp]
    public void Prerequisites() => ClusterFixture.RequirePrerequisites();

    [Test]
    [CancelAfter(240_000)]
    public async Task Sigkill_OfTheNodeServingTheSessions_UnderLoadWithRooms_LoadGenReportsZeroLostZeroDuplicated(CancellationToken ct)
    {
        await using var lab = await ClusterLab.StartAsync(3, ct);
        await lab.StartGatewayAsync(ct);
        string output = Testing.TempFolders.Create("relay-cluster-load-");
        var options = new LoadOptions
        {
            Scenario = "steady",
            Urls = [lab.GatewayWs],
            TokenUrl = new Uri(lab.Nodes[0].Http, "/v1/tokens"),
            AdminKey = ClusterLab.AdminKey,
            Sessions = 24,
            RoomSize = 4,
            Rate = 20,
            Seconds = 14,
            Progress = "off",
            OutputDirectory = output,
        };
        var run = new LoadRunner(options).RunAsync(ct);

        // Once the load runs, SIGKILL the node that serves the most sessions (the relay's rendezvous ranking on site/sub
        // spreads them: the load generator's sessions are users of 16 sessions each).
        ClusterNode? victim = null;
        var until = Stopwatch.GetTimestamp() + 20 * Stopwatch.Frequency;
        while (victim is null && Stopwatch.GetTimestamp() < until && !run.IsCompleted)
        {
            await Task.Delay(250, ct);
            var served = new List<(ClusterNode Node, int Sessions)>();
            foreach (var node in lab.Nodes)
            {
                served.Add((node, (await ClusterFixture.FleetAsync(node, ct)).GetProperty("sessions").GetInt32()));
            }

            if (served.Sum(s => s.Sessions) >= options.Sessions)
            {
                victim = served.MaxBy(s => s.Sessions).Node;
            }
        }

        Assert.That(victim, Is.Not.Null, "the nodes did not take the sessions");
        await Task.Delay(2000, ct);
        victim!.Process.Kill();
        var report = await run;
        RedisProcess.TryDelete(output);
        TestContext.Out.WriteLine($"killed {victim.Id}");
        TestContext.Out.WriteLine(ReportWriter.ToMarkdown(report));
        TestContext.Out.WriteLine("gateway:\n" + lab.Gateway!.Tail(15));
        foreach (var node in lab.Nodes)
        {
            TestContext.Out.WriteLine($"{node.Id}:\n{node.Process.Tail(15)}");
        }

        Assert.Multiple(() =>
        {
            Assert.That(report.Connected, Is.EqualTo(options.Sessions));
            Assert.That(report.Sent, Is.GreaterThan(0));
            Assert.That(report.Reconnects, Is.GreaterThan(0), "the sessions moved to another node");
            Assert.That(report.SessionsRestarted, Is.Zero, "each resumed on another node, none started afresh");
            Assert.That(report.Lost, Is.Zero, "gaps count as lost");
            Assert.That(report.Duplicated, Is.Zero);
            Assert.That(report.OutOfOrder, Is.Zero);
            Assert.That(report.Received, Is.EqualTo(report.Expected));
        });
    }
}
