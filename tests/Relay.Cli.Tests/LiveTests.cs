using System.Net;
using System.Text.Json.Nodes;
using Relay.CoreSim;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Cli.Tests;

/// <summary>
/// The operator's path end to end on loopback: <c>relay init</c> for a region pointing at a real core-sim, the core
/// given the relay's key, the built gateway started with <c>--config</c> on init's file (its secrets from init's key
/// files), then <c>relay status</c>, <c>drain</c>, <c>undrain</c> and <c>fleet</c> against the live processes.
/// </summary>
[NonParallelizable]
public class LiveTests
{
    private const string RelayId = "cli-1";
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(30);
    private CoreSimHost _core = null!;
    private ChildProcess _gateway = null!;
    private string _dir = null!;
    private string _gatewayUrl = null!;

    private string AdminKeyFile => Path.Combine(_dir, "admin.key");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        if (Repo.MissingBuild() is { } missing)
        {
            Assert.Ignore(missing);
        }

        _dir = TempFolders.Create("relay-cli-live-");
        int backhaulPort = Ports.Free();
        int coreHttpPort = Ports.Free();
        var init = await Cli.RunAsync("init", "--dir", _dir, "--region", "test", "--relay-id", RelayId, "--core", $"127.0.0.1:{backhaulPort}", "--core-url", $"http://127.0.0.1:{coreHttpPort}");
        Assert.That(init.Code, Is.EqualTo(0), init.ToString());
        Assert.That((await Cli.RunAsync("check", Path.Combine(_dir, "gateway.json"))).Code, Is.EqualTo(0));

        string relayKey = (await File.ReadAllTextAsync(Path.Combine(_dir, "backhaul.key"))).Trim();
        _core = await CoreSimHost.StartAsync("Production", o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = coreHttpPort;
            o.BackhaulPort = backhaulPort;
            o.AdminKey = "cli-core-admin-key";
            o.RelayKeys[RelayId] = relayKey;
            o.FleetBroadcastInterval = TimeSpan.FromMilliseconds(200);
        });
        int port = Ports.Free();
        _gatewayUrl = $"http://127.0.0.1:{port}";
        _gateway = RelayProcesses.StartGateway(RelayId, null,
        [
            "--config", Path.Combine(_dir, "gateway.json"), "--Gateway:BindAddress=127.0.0.1", $"--Gateway:HttpPort={port}",
            $"--Gateway:Health:AgentPort={Ports.Free()}", "--Gateway:Health:EvaluationInterval=00:00:00.2", "--Gateway:Health:ReportInterval=00:00:00.4",
            "--Gateway:Health:DrainBatchInterval=00:00:00.05",
        ]);
        await _gateway.WaitForHttpAsync(new Uri(_gatewayUrl + "/readyz"), HttpStatusCode.OK, s_limit, CancellationToken.None);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _gateway?.Dispose();
        if (_core is not null)
        {
            await _core.DisposeAsync();
        }
    }

    [Test]
    public async Task Status_Table_ShowsStateSessionsAndLinks()
    {
        var run = await Cli.RunAsync("status", _gatewayUrl);
        await TestContext.Out.WriteLineAsync(run.Output);

        Assert.That(run.Code, Is.EqualTo(0), run.ToString());
        Assert.That(run.Output, Does.Contain(RelayId).And.Contain("healthy (ready)").And.Contain("sessions").And.Contain($"127.0.0.1:{_core.BackhaulPort}").And.Contain("up"));
        Assert.That(run.Error, Is.Empty);
    }

    [Test]
    public async Task Status_Json_HasStableFields()
    {
        var run = await Cli.RunAsync("status", _gatewayUrl, "--json");

        Assert.That(run.Code, Is.EqualTo(0), run.ToString());
        var json = run.Json;
        Assert.That(json["relayId"]!.GetValue<string>(), Is.EqualTo(RelayId));
        Assert.That(json["region"]!.GetValue<string>(), Is.EqualTo("test"));
        Assert.That(json["state"]!.GetValue<string>(), Is.EqualTo("healthy"));
        Assert.That(json["ready"]!.GetValue<bool>(), Is.True);
        Assert.That(json["draining"]!.GetValue<bool>(), Is.False);
        Assert.That(json["sessions"]!.GetValue<long>(), Is.EqualTo(0));
        Assert.That(json["reasons"], Is.InstanceOf<JsonArray>());
        Assert.That(json["linksUp"]!.GetValue<int>(), Is.GreaterThan(0));
        Assert.That(json["links"]!.AsArray()[0]!["endpoint"]!.GetValue<string>(), Is.EqualTo($"127.0.0.1:{_core.BackhaulPort}"));
    }

    [Test]
    public async Task Fleet_ListsTheRelay_AsTableAndJson()
    {
        CliRun? json = null;
        for (int i = 0; i < 100; i++)
        {
            json = await Cli.RunAsync("fleet", _core.HttpUri.ToString(), "--json");
            // The core's view follows the relay's reports: right after another test's undrain it may still say
            // draining for a report interval, so wait (bounded) for the relay's current state.
            if (json.Code == 0 && json.Json["relays"]!.AsArray().Any(r => r!["relayId"]!.GetValue<string>() == RelayId && r["state"]?.GetValue<string>() == "healthy"))
            {
                break;
            }

            await Task.Delay(100);
        }

        var relay = json!.Json["relays"]!.AsArray().Single(r => r!["relayId"]!.GetValue<string>() == RelayId)!;
        Assert.That(relay["region"]!.GetValue<string>(), Is.EqualTo("test"));
        Assert.That(relay["state"]!.GetValue<string>(), Is.EqualTo("healthy"));
        Assert.That(relay["links"]!.GetValue<int>(), Is.GreaterThan(0));
        Assert.That(json.Json["node"]!.GetValue<string>(), Is.Not.Empty);

        var table = await Cli.RunAsync("fleet", _core.HttpUri.ToString());
        await TestContext.Out.WriteLineAsync(table.Output);

        Assert.That(table.Code, Is.EqualTo(0), table.ToString());
        Assert.That(table.Output, Does.Contain(RelayId).And.Contain("healthy").And.Contain("relays;"));
    }

    [Test]
    public async Task Drain_RefusedForTheLastHealthyRelay_ForcedDrains_UndrainTakesSessionsAgain()
    {
        var refused = await Cli.RunAsync("drain", _gatewayUrl, "--admin-key-file", AdminKeyFile);
        Assert.That(refused.Code, Is.EqualTo(1), refused.ToString());
        Assert.That(refused.Output, Does.StartWith("drain refused:"));

        var drained = await Cli.RunAsync("drain", _gatewayUrl, "--admin-key-file", AdminKeyFile, "--force", "--json");
        Assert.That(drained.Code, Is.EqualTo(0), drained.ToString());
        Assert.That(drained.Json["accepted"]!.GetValue<bool>(), Is.True);
        Assert.That(drained.Json["action"]!.GetValue<string>(), Is.EqualTo("drain"));

        var status = await Cli.RunAsync("status", _gatewayUrl, "--json");
        Assert.That(status.Code, Is.EqualTo(1), "not ready while draining");
        Assert.That(status.Json["draining"]!.GetValue<bool>(), Is.True);

        var undrained = await Cli.RunAsync("undrain", _gatewayUrl, "--admin-key-file", AdminKeyFile);
        Assert.That(undrained.Code, Is.EqualTo(0), undrained.ToString());
        Assert.That(undrained.Output, Does.StartWith("undrain accepted:"));
        await _gateway.WaitForHttpAsync(new Uri(_gatewayUrl + "/readyz"), HttpStatusCode.OK, s_limit, CancellationToken.None);
        Assert.That((await Cli.RunAsync("status", _gatewayUrl)).Code, Is.EqualTo(0));
    }

    [Test]
    public async Task Drain_WithAWrongKey_IsUnauthorized_OneLine_Exit2()
    {
        string wrong = Path.Combine(TempFolders.Create("relay-cli-key-"), "admin.key");
        await File.WriteAllTextAsync(wrong, "not-the-key\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(wrong, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var run = await Cli.RunAsync("drain", _gatewayUrl, "--admin-key-file", wrong, "--force");

        Assert.That(run.Code, Is.EqualTo(2));
        Assert.That(run.ErrorLines, Has.Length.EqualTo(1).And.Some.Contains("unauthorized"));
        Assert.That((await Cli.RunAsync("status", _gatewayUrl, "--json")).Json["draining"]!.GetValue<bool>(), Is.False);
    }

    [TestCase("status")]
    [TestCase("fleet")]
    [TestCase("undrain")]
    public async Task UnreachableUrl_IsOneLine_Exit2(string command)
    {
        string url = $"http://127.0.0.1:{Ports.Free()}";

        var run = await Cli.RunAsync(command == "undrain" ? [command, url, "--admin-key-file", AdminKeyFile] : [command, url]);
        var json = await Cli.RunAsync(command == "undrain" ? [command, url, "--admin-key-file", AdminKeyFile, "--json"] : [command, url, "--json"]);

        Assert.That(run.Code, Is.EqualTo(2));
        Assert.That(run.ErrorLines, Has.Length.EqualTo(1));
        Assert.That(run.ErrorLines[0], Does.StartWith($"relay: cannot reach {url}/"));
        Assert.That(run.Output, Is.Empty);
        Assert.That(json.Code, Is.EqualTo(2));
        Assert.That(json.Output, Is.Empty, "no half JSON on standard output");
    }
}
