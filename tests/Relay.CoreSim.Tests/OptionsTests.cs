using Relay.Testing;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Configuration;
using Relay.Testing.Options;
using Relay.Testing.Processes;

namespace Relay.CoreSim.Tests;

public class OptionsTests
{

    private static readonly TimeSpan s_exitTimeout = TimeSpan.FromSeconds(60);

    private static string[] Required => ["--CoreSim:AdminKey=options-test-admin-key-0123456789"];

    [TestCase("--CoreSim:SharedKey=short", "CoreSim:SharedKey")]
    [TestCase("--CoreSim:MaxUnacknowledged=0", "CoreSim:MaxUnacknowledged")]
    [TestCase("--CoreSim:BindAddress=nowhere", "CoreSim:BindAddress")]
    [TestCase("--CoreSim:MaxTokenLifetime=00:00:01", "CoreSim:MaxTokenLifetime")]
    [TestCase("--CoreSim:HttpPort=abc", "CoreSim:HttpPort")]
    [TestCase("--CoreSim:HelloTimeout=soon", "CoreSim:HelloTimeout")]
    [TestCase("--CoreSim:BackhaulPot=7001", "CoreSim:BackhaulPort")]
    [TestCase("--CoreSim:WireGuard:Backend=Magic", "CoreSim:WireGuard:Backend")]
    [TestCase("--CoreSim:RegionsFile=/nonexistent/regions.json", "CoreSim:RegionsFile: regions file '/nonexistent/regions.json': does not exist.")]
    [TestCase("--CoreSim:TokenRefreshWindow=-00:00:01", "CoreSim:TokenRefreshWindow")]
    [TestCase("--CoreSim:MaxSessionAge=00:59:59", "CoreSim:MaxSessionAge")]
    [TestCase("--CoreSim:MaxFilesPerUser=1001", "CoreSim:MaxFilesPerUser")]
    [TestCase("--CoreSim:MaxFileBytesPerUser=1000", "CoreSim:MaxFileBytesPerUser")]
    [TestCase("--CoreSim:MaxTotalFileBytes=1000", "CoreSim:MaxTotalFileBytes")]
    [TestCase("--CoreSim:FileRetention=00:00:00", "CoreSim:FileRetention")]
    [TestCase("--CoreSim:CloseTimeout=-00:00:01", "CoreSim:CloseTimeout")]
    [TestCase("--CoreSim:KeyRotationInterval=90.00:00:00", "CoreSim:KeyRotationInterval")]
    [TestCase("--CoreSim:FleetBroadcastInterval=60.00:00:00", "CoreSim:FleetBroadcastInterval")]
    [TestCase("--CoreSim:PublicKeyPath=/nonexistent/folder/core-public.pem", "CoreSim:PublicKeyPath")]
    [TestCase("--CoreSim:Cluster:Redis=127.0.0.1:6379,bogus=1", "CoreSim:Cluster:Redis")]
    [TestCase("--CoreSim:HttpPort=17980 --CoreSim:BackhaulPort=17980", "CoreSim:BackhaulPort")]
    [TestCase("--CoreSim:RelayNetworks:0=10.90.0.0/24 --CoreSim:RelayNetworks:1=10.90.0.2/24", "CoreSim:RelayNetworks:1: '10.90.0.2/24' has host bits set: write 10.90.0.0/24 for the network, or 10.90.0.2 for that one address.")]
    [TestCase("--CoreSim:RelayNetworks:0=fd00::/200", "CoreSim:RelayNetworks:0: 'fd00::/200' is not a network")]
    [TestCase("--CoreSim:RelayNetworks=10.90.0.0/24", "CoreSim:RelayNetworks is a list: set its items as CoreSim:RelayNetworks:0")]
    public void BadSetting_StopsStartUp_WithOneLineNamingIt(string arguments, string setting)
    {
        // Outside Development (the default) the admin key is required, so it is given.
        var ex = Assert.Throws<OptionsValidationException>(() => CoreSimHost.Build([.. Required, .. arguments.Split(' ')]));
        Assert.That(ex!.Failures.Single(), Does.Contain(setting));
        Assert.That(ex.Failures.Single(), Does.Not.Contain("\n"));
    }

    [TestCase("not a key")]
    [TestCase("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n")]
    public void SigningKeyFile_ThatHoldsNoPrivateKey_StopsStartUp_WithOneLineNamingIt(string content)
    {
        string folder = TempFolders.Create("relay-signing-key-");
        string path = Path.Combine(folder, "core-signing.pem");
        File.WriteAllText(path, content);

        var ex = Assert.Throws<OptionsValidationException>(() => CoreSimHost.Build([.. Required, $"--CoreSim:SigningKeyPath={path}"]));

        Assert.That(ex!.Failures.Single(), Does.Contain("CoreSim:SigningKeyPath").And.Contain(path));
        Assert.That(ex.Failures.Single(), Does.Not.Contain("\n"));
        Directory.Delete(folder, recursive: true);
    }

    [Test]
    public void UnknownKey_IsReportedWithTheNearestValidName()
    {
        Assert.That(CoreSimSettings.Schema.Check([new("CoreSim:HttpPot", "1")]), Is.EqualTo("unknown setting CoreSim:HttpPot (did you mean CoreSim:HttpPort?)"));
    }

    [Test]
    public async Task Configure_RunsAfterBinding()
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.NodeId = "core-configured");

        Assert.That(host.Options.NodeId, Is.EqualTo("core-configured"));
    }

    [Test]
    public async Task LoadReportsPath_IsWhereTheDashboardLooks()
    {
        var reports = new DirectoryInfo(TempFolders.Create("relay-load-"));
        string report = Path.Combine(reports.FullName, "result.json");
        await File.WriteAllTextAsync(report, """{"sent":1}""");
        await using var host = await CoreSimFixture.StartAsync(o => o.LoadReportsPath = reports.FullName);
        using var http = new HttpClient { BaseAddress = host.HttpUri };

        string body = await http.GetStringAsync("/v1/load/latest");

        // The endpoint is open (the dashboard reads it): it names the report within LoadReportsPath, never the server's
        // folders (docs/known-gaps.md until stop 45).
        Assert.That(body, Does.Contain("\"sent\":1").And.Contain("\"path\":\"LoadReportsPath/result.json\""));
        Assert.That(body, Does.Not.Contain(reports.FullName));
        reports.Delete(recursive: true);
    }

    [Test]
    public async Task LoadReports_NoneFound_404NamesWhereItLooked_WithoutTheServersFolders()
    {
        var reports = new DirectoryInfo(TempFolders.Create("relay-load-"));
        await using var host = await CoreSimFixture.StartAsync(o => o.LoadReportsPath = reports.FullName);
        using var http = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await http.GetAsync("/v1/load/latest");
        string body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.NotFound));
        Assert.That(body, Does.Contain("\"searched\":[\"LoadReportsPath\"]").And.Not.Contain(reports.FullName));
        reports.Delete(recursive: true);
    }

    [Test]
    public void ReadmeTable_ListsEveryOption_WithItsDefault()
    {
        var problems = OptionsTable.Problems(CoreSimSettings.Schema, "core-sim/README.md", skipPrefix: "WireGuard:");

        Assert.That(problems, Is.Empty);
    }

    /// <summary>
    /// Every range the table states ("1–100,000", "256 B–16 MiB") is the one start-up holds: both bounds accepted, the
    /// nearest values outside refused (a refusal naming the key alone: a rule between two keys is the table's prose).
    /// </summary>
    [Test]
    public async Task ReadmeTable_Ranges_AreTheValidatorsRanges()
    {
        var ranges = OptionsTable.Ranges(CoreSimSettings.Schema, "core-sim/README.md");
        var wrong = new List<string>();
        foreach (var range in ranges)
        {
            foreach (var (value, valid) in new[] { (range.Low, true), (range.High, true), (range.BelowLow, false), (range.AboveHigh, false) })
            {
                if (await RefusesAsync(range.Key, value) == valid)
                {
                    wrong.Add($"{range.Key} ({range.Text}): {value} {(valid ? "refused" : "accepted")}");
                }
            }
        }

        Assert.That(ranges, Has.Count.GreaterThanOrEqualTo(8), "the ranges were read");
        Assert.That(wrong, Is.Empty);
    }

    /// <summary>Whether start-up refuses <paramref name="value"/> for CoreSim:<paramref name="key"/>, naming it alone.</summary>
    private static async Task<bool> RefusesAsync(string key, string value)
    {
        string name = "CoreSim:" + key;
        try
        {
            await using var host = CoreSimHost.Build([.. Required, $"--{name}={value}"]);
            return false;
        }
        catch (OptionsValidationException e)
        {
            return e.Failures.Any(problem => OptionsTable.NamesOnly(problem, name));
        }
    }

    [TestCase("--CoreSim:HttpPort=abc", "core-sim: configuration error: CoreSim:HttpPort: 'abc' is not a valid Int32")]
    [TestCase("--CoreSim:HttpPot=9000", "core-sim: configuration error: unknown setting CoreSim:HttpPot (did you mean CoreSim:HttpPort?)")]
    [TestCase("--CoreSim:BackhaulPort=70000", "core-sim: configuration error: CoreSim:BackhaulPort: must be 0-65535; was 70000.")]
    public async Task Process_BadSetting_ExitsWith2_AndOneLineOnStandardError(string argument, string line)
    {
        using var core = HostProcess.Start("Relay.CoreSim.dll", argument);

        int code = await core.WaitForExitAsync(s_exitTimeout);

        Assert.That(code, Is.EqualTo(2));
        Assert.That(core.Error, Is.EqualTo(new[] { line }));
        Assert.That(core.Output, Has.None.Contains(" at "), "no stack trace");
    }

    [Test]
    public async Task Process_ValidSettings_Starts()
    {
        using var core = HostProcess.Start("Relay.CoreSim.dll", ["--CoreSim:BindAddress=127.0.0.1", "--CoreSim:HttpPort=0", "--CoreSim:BackhaulPort=0", .. Required]);

        bool listening = await core.WaitForOutputAsync("Now listening on: http://127.0.0.1:", s_exitTimeout);

        Assert.That(listening, Is.True, string.Join('\n', core.Output.Concat(core.Error)));
        Assert.That(core.Error, Is.Empty);
    }
}
