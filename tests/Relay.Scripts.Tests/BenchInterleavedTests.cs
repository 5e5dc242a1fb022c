using System.Globalization;
using System.Text;
using System.Text.Json;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>
/// The table of `./build.sh bench gateway interleaved` (issue 21: fresh gateways side by side, the load moved between
/// them in slices), `scripts/bench-interleaved.py`, over a folder of slices written as the bench writes them: what an
/// operator reads to tell a slow gateway process from a slow machine.
/// </summary>
[TestFixture]
public sealed class BenchInterleavedTests
{
    private const string Header = "label\tgateway\tcycle\tcounted\tmsg_s\tp50_ms\tp99_ms\thop_us_msg\tcore_us_msg\tloadgen_us_msg\twindow_s\tlost\tduplicated\tout_of_order\tconnected";
    private string _dir = string.Empty;
    private StringBuilder _tsv = new();

    [SetUp]
    public void CreateFolder()
    {
        _dir = Directory.CreateTempSubdirectory("relay-interleaved-").FullName;
        _tsv = new StringBuilder(Header + "\n"); // one fixture instance runs every test
    }

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [Test]
    [CancelAfter(60_000)]
    public async Task TheMachinesDrift_FallsOnEveryGatewayAlike_AndIsNotCountedAgainstThem(CancellationToken ct)
    {
        // Cycle 1 uncounted (a cold gateway's 5k must not count); cycle 2 the machine slow for everyone, cycle 3 fast.
        for (int k = 1; k <= 5; k++)
        {
            Slice(k, 1, counted: false, msgPerSecond: k == 3 ? 5_000 : 40_000, hopUs: 30);
            Slice(k, 2, counted: true, msgPerSecond: 30_000 + k * 100, hopUs: 14, farSeconds: 4);
            Slice(k, 3, counted: true, msgPerSecond: 50_000 - k * 100, hopUs: 12);
        }

        string table = await SummaryAsync(ct);
        Assert.Multiple(() =>
        {
            Assert.That(table, Does.Contain("±0.0 %** around the median (target: within ±10 %: met)"), table);
            Assert.That(table, Does.Contain("The single slices, for comparison (the machine's drift in them): ±24.8 %"), "the slices' own spread, beside it");
            Assert.That(Row(table, "gw-i3"), Does.StartWith("| gw-i3 | 2 | 40,000 |"), "the mean of its counted slices only");
            Assert.That(Row(table, "gw-i3"), Does.Contain("| 5 / 8 |"), "every measured second: 4 a slice, the first one too (1 near in the slow cycle, 4 in the fast)");
            Assert.That(Row(table, "gw-i3"), Does.Contain("| 12.8 |"), "CPU per message over all its messages (weighted by them)");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AGatewayThatIsItselfSlower_StandsOut_AndFailsTheTarget(CancellationToken ct)
    {
        for (int k = 1; k <= 5; k++)
        {
            for (int cycle = 1; cycle <= 3; cycle++)
            {
                int rate = (cycle % 2 == 0 ? 35_000 : 45_000) / (k == 2 ? 2 : 1); // gw-i2 at half, in every cycle
                Slice(k, cycle, counted: true, msgPerSecond: rate, hopUs: k == 2 ? 30 : 13);
            }
        }

        string table = await SummaryAsync(ct);
        Assert.Multiple(() =>
        {
            Assert.That(table, Does.Contain("(target: within ±10 %: not met)"), table);
            Assert.That(table, Does.Contain("min 20,833, max 41,667"), table);
            Assert.That(Row(table, "gw-i2"), Does.Contain("| 30.0 |"), "its CPU per message");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ASliceWithoutAReport_IsSaid_NotSilentlyDropped(CancellationToken ct)
    {
        for (int k = 1; k <= 5; k++)
        {
            Slice(k, 1, counted: true, msgPerSecond: 40_000, hopUs: 13);
        }

        _tsv.Append("inter-gw4-c2\t4\t2\t1\tfailed\n");

        string table = await SummaryAsync(ct);
        Assert.That(table, Does.Contain("**1 slice(s) failed**"), table);
    }

    private async Task<string> SummaryAsync(CancellationToken ct)
    {
        string tsv = Path.Combine(_dir, "interleaved-runs.tsv");
        await File.WriteAllTextAsync(tsv, _tsv.ToString(), ct);
        var result = await ProcessRunner.RunAsync("python3", [Path.Combine(Repo.Root, "scripts", "bench-interleaved.py"), tsv, _dir], ct, Repo.Root);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.StdErr);
        return result.StdOut;
    }

    private static string Row(string table, string gateway) =>
        table.Split('\n').SingleOrDefault(l => l.StartsWith($"| {gateway} |", StringComparison.Ordinal)) ?? $"(no row for {gateway})";

    /// <summary>One slice as the bench writes it: a TSV row and the load generator's result.json (1 s warm-up, 4 s
    /// measured, a timeline tick a second from before the connect, the cross-CPU probe in each).</summary>
    private void Slice(int gateway, int cycle, bool counted, double msgPerSecond, double hopUs, int farSeconds = 0)
    {
        string label = $"inter-gw{gateway}-c{cycle}";
        _tsv.Append(string.Join('\t', label, gateway, cycle, counted ? 1 : 0, msgPerSecond.ToString(CultureInfo.InvariantCulture), 8, 20,
            hopUs.ToString(CultureInfo.InvariantCulture), 6, 18, 4.0, 0, 0, 0, 200)).Append('\n');
        var timeline = Enumerable.Range(0, 6).Select(i => new
        {
            seconds = i + 0.01,
            received = (long)(Math.Max(0, i - 0.07) * msgPerSecond),
            crossCpuNs = i == 0 ? 0 : i <= farSeconds ? 210 : 110,
        });
        string folder = Path.Combine(_dir, label);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "result.json"), JsonSerializer.Serialize(new
        {
            messagesPerSecond = msgPerSecond,
            connectSeconds = 0.07,
            warmupSeconds = 1,
            timeline,
        }));
    }
}
