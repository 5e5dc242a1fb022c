using Relay.LoadGen;

namespace Relay.CoreSim.Tests;

[TestFixture]
public sealed class LoadGenTests
{
    [TestCase("steady")]
    [TestCase("connect-storm")]
    [TestCase("failover")]
    [CancelAfter(60_000)]
    public async Task Scenario_AgainstDirectEndpoint_NothingLostOrDuplicated(string scenario, CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        var options = new LoadOptions
        {
            Scenario = scenario,
            Urls = [host.WebSocketUri],
            TokenUrl = new Uri(host.HttpUri, "/v1/tokens"),
            Sessions = 50,
            Rate = 10,
            Seconds = 3,
            FaultEvery = 1,
            OutputDirectory = Path.Combine(Path.GetTempPath(), "relay-loadgen-" + Guid.NewGuid().ToString("N")),
        };
        var report = await new LoadRunner(options).RunAsync(ct);
        var markdown = ReportWriter.Write(report, options.OutputDirectory);
        TestContext.Out.WriteLine(markdown);
        Assert.Multiple(() =>
        {
            Assert.That(report.Connected, Is.EqualTo(50));
            Assert.That(report.Sent, Is.GreaterThan(0));
            Assert.That(report.Received, Is.EqualTo(report.Sent));
            Assert.That(report.Lost, Is.Zero);
            Assert.That(report.Duplicated, Is.Zero);
            Assert.That(report.OutOfOrder, Is.Zero);
            Assert.That(File.Exists(Path.Combine(options.OutputDirectory, "result.json")), Is.True);
        });
        if (scenario == "failover")
        {
            Assert.That(report.Reconnects, Is.GreaterThan(0));
        }

        Directory.Delete(options.OutputDirectory, recursive: true);
    }
}
