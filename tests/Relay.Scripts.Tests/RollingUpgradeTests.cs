using System.Globalization;
using System.Text.Json;
using Relay.CoreSim;
using Relay.CoreSim.Configuration;
using Relay.Testing;
using Relay.Testing.Processes;
using Relay.Testing.Steering;

namespace Relay.Scripts.Tests;

/// <summary>
/// scripts/rolling-upgrade.sh end to end: core-sim, two gateways (started by the script from their relay folders)
/// behind a real HAProxy, the load generator chatting through HAProxy the whole time, and the script upgrading both
/// gateways one at a time (drain, stop, install, start, ready, undrain): nothing lost, nothing duplicated.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RollingUpgradeTests
{
    private const string SharedKey = "Eq8iNmx8+BpPcEhyGnIsOgqZgN0JkD7IhTwEz5D0M78=";
    private const string AdminKey = "rolling-upgrade-admin-key";

    private static string LoadGenDll => Path.Combine(Repo.Root, "tools", "Relay.LoadGen", "bin", Repo.Configuration, "net10.0", "Relay.LoadGen.dll");

    private static string Script => Path.Combine(Repo.Root, "scripts", "rolling-upgrade.sh");

    [Test]
    [CancelAfter(420_000)]
    public async Task RollingUpgrade_TwoGatewaysBehindHaproxy_UnderLoad_NothingLostOrDuplicated(CancellationToken ct)
    {
        Require();
        string dir = TempFolders.Create("relay-rolling-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await StartCoreAsync(publicKey, ct, o =>
        {
            o.FleetBroadcastInterval = TimeSpan.FromMilliseconds(200);
            o.FleetDrainSickAfter = TimeSpan.FromMinutes(10);
        });

        // Two relays, each in its own folder running release "v1" (this build); the new version is the same build in
        // another folder with its own VERSION, as a publish output would be.
        var relays = new[] { "gw1", "gw2" }.Select(id => NewRelay(dir, id, core.BackhaulPort, publicKey)).ToList();
        string v2 = Path.Combine(dir, "gateway-v2");
        CopyFolder(Path.GetDirectoryName(Repo.GatewayDll)!, v2);
        File.WriteAllText(Path.Combine(v2, "VERSION"), "v2-test");

        HaproxyProcess? haproxy = null;
        ChildProcess? load = null;
        try
        {
            var started = await RunScriptAsync(ct, ["start", .. relays.Select(r => r.Dir)]);
            Assert.That(started.ExitCode, Is.Zero, $"start: {started.StdOut}\n{started.StdErr}\n{Logs(relays)}");
            haproxy = HaproxyProcess.Start(relays.Select(r => (r.Id, r.Port, r.AgentPort)));
            foreach (var r in relays)
            {
                await haproxy.WaitForStatusAsync(r.Id, s => s.StartsWith("UP", StringComparison.Ordinal), ct);
            }

            // Sessions chatting through HAProxy for the whole upgrade (steady: every message echoed, sequence-checked).
            string ready = Path.Combine(dir, "load.ready"), results = Path.Combine(dir, "load");
            load = ChildProcess.Start("loadgen",
            [
                "dotnet", LoadGenDll, "steady", "--url", haproxy.WebSocketUri.ToString(), "--token-url", new Uri(core.HttpUri, "/v1/tokens").ToString(),
                "--admin-key", core.AdminKey, "--sessions", "40", "--rate", "5", "--seconds", "240", "--progress", "off",
                "--ready-file", ready, "--out", results,
            ]);
            for (int i = 0; i < 600 && !File.Exists(ready) && !load.HasExited; i++)
            {
                await Task.Delay(100, ct);
            }

            Assert.That(File.Exists(ready), Is.True, "the load generator connected its sessions:\n" + load.Log);
            var sessionsBefore = await Task.WhenAll(relays.Select(r => SessionsAsync(r, ct)));
            Assert.That(sessionsBefore.Sum(), Is.EqualTo(40), "the sessions are on the two gateways");

            var upgrade = await RunScriptAsync(ct, ["--settle", "1", "--drain-timeout", "30", "--ready-timeout", "60", v2, .. relays.Select(r => r.Dir)]);
            bool loadStillRunning = !load.HasExited;
            TestContext.Out.WriteLine(upgrade.StdOut + upgrade.StdErr);
            Assert.Multiple(() =>
            {
                Assert.That(upgrade.ExitCode, Is.Zero, $"{upgrade.StdOut}\n{upgrade.StdErr}\n{Logs(relays)}");
                Assert.That(loadStillRunning, Is.True, "the upgrade finished while the sessions were still chatting");
                foreach (var r in relays)
                {
                    string[] steps = ["draining", "drained", "stopped", "installed releases/v2-test-", "ready and undrained"];
                    int at = -1;
                    foreach (string step in steps)
                    {
                        int next = upgrade.StdOut.IndexOf($"upgrade: {r.Id}: {step}", StringComparison.Ordinal);
                        Assert.That(next, Is.GreaterThan(at), $"{r.Id}: '{step}' in order:\n{upgrade.StdOut}");
                        at = next;
                    }

                    Assert.That(new FileInfo(Path.Combine(r.Dir, "current")).LinkTarget, Does.StartWith("releases/v2-test-"));
                }

                // One at a time: the first relay was back before the second one was drained.
                Assert.That(upgrade.StdOut.IndexOf("upgrade: gw1: ready and undrained", StringComparison.Ordinal),
                    Is.LessThan(upgrade.StdOut.IndexOf("upgrade: gw2: draining", StringComparison.Ordinal)));
            });

            // Sessions chat on the new release a little, then the load generator is stopped as a user stops it (SIGTERM,
            // as Ctrl-C): it drains and reports everything it sent, as at the end of its --seconds (a bound here).
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            ProcessRunner.TryRun("kill", "-TERM", load.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await load.WaitForOutputAsync("Written:", TimeSpan.FromSeconds(60), ct);
            for (int i = 0; i < 100 && !load.HasExited; i++)
            {
                await Task.Delay(100, ct);
            }

            using var result = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(results, "result.json"), ct));
            var report = result.RootElement;
            long Get(string name) => report.GetProperty(name).GetInt64();
            TestContext.Out.WriteLine($"load: sent {Get("sent")}, received {Get("received")}, lost {Get("lost")}, duplicated {Get("duplicated")}, reconnects {Get("reconnects")}");
            Assert.Multiple(() =>
            {
                Assert.That(Get("connected"), Is.EqualTo(40));
                Assert.That(report.GetProperty("stoppedEarly").GetBoolean(), Is.True, "stopped by the signal, not by its --seconds");
                Assert.That(Get("sent"), Is.GreaterThan(0));
                Assert.That(Get("lost"), Is.Zero, load.Log);
                Assert.That(Get("duplicated"), Is.Zero, load.Log);
                Assert.That(Get("outOfOrder"), Is.Zero, load.Log);
                Assert.That(Get("received"), Is.EqualTo(Get("sent")));
                Assert.That(Get("reconnects"), Is.GreaterThanOrEqualTo(40), "every session was moved at least once (each gateway was drained)");
                Assert.That(load.ExitCode, Is.Zero, load.Log);
            });
        }
        finally
        {
            load?.Dispose();
            // Only what this test started: the gateways' pids from their folders (the script's stop reads the same files).
            await RunScriptAsync(CancellationToken.None, ["stop", "--stop-timeout", "10", .. relays.Select(r => r.Dir)]);
            foreach (var r in relays)
            {
                string pidFile = Path.Combine(r.Dir, "gateway.pid");
                if (File.Exists(pidFile))
                {
                    ProcessRunner.TryRun("kill", "-KILL", File.ReadAllText(pidFile).Trim());
                }
            }

            if (haproxy is not null)
            {
                await haproxy.DisposeAsync();
            }

            RemoveRelayFolders(dir, relays);
        }
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task RollingUpgrade_NewVersionNeverReady_RolledBackToThePreviousRelease_AndTheRolloutStops(CancellationToken ct)
    {
        Require();
        string dir = TempFolders.Create("relay-rolling-back-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await StartCoreAsync(publicKey, ct);
        var relays = new[] { "gw1", "gw2" }.Select(id => NewRelay(dir, id, core.BackhaulPort, publicKey)).ToList();
        string broken = BrokenRelease(dir);
        try
        {
            var started = await RunScriptAsync(ct, ["start", .. relays.Select(r => r.Dir)]);
            Assert.That(started.ExitCode, Is.Zero, $"start: {started.StdOut}\n{started.StdErr}\n{Logs(relays)}");
            var upgrade = await RunScriptAsync(ct, ["--force", "--ready-timeout", "30", broken, .. relays.Select(r => r.Dir)]);
            await AssertRolledBackAsync(upgrade, relays, ct);
        }
        finally
        {
            await RunScriptAsync(CancellationToken.None, ["stop", "--stop-timeout", "10", .. relays.Select(r => r.Dir)]);
            RemoveRelayFolders(dir, relays);
        }
    }

    /// <summary>
    /// UNIT= (a systemd unit stops and starts the relay, here one running the relay folder's current release) with a
    /// new version that never gets ready: rolled back as the folder mode is, to the previous release, started again by
    /// systemd. A real systemd (<see cref="SystemdManager"/>: systemd is not PID 1 on these machines), no fake systemctl.
    /// </summary>
    [Test]
    [CancelAfter(300_000)]
    public async Task RollingUpgrade_UnitMode_NewVersionNeverReady_RolledBackToThePreviousRelease_AndTheRolloutStops(CancellationToken ct)
    {
        RequireSystemd();
        string dir = TempFolders.Create("relay-rolling-unit-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await StartCoreAsync(publicKey, ct);
        using var systemd = await SystemdManager.StartAsync(ct);
        var relays = new[] { "gw1", "gw2" }.Select(id => NewRelay(dir, id, core.BackhaulPort, publicKey)).ToList();
        foreach (var r in relays)
        {
            WriteUnit(systemd, $"relay-{r.Id}", r, Path.Combine(r.Dir, "current"));
            File.AppendAllText(Path.Combine(r.Dir, "relay.env"), $"UNIT=relay-{r.Id}\n");
        }

        string broken = BrokenRelease(dir);
        try
        {
            await systemd.RunAsync(["systemctl", "daemon-reload"], ct);
            var started = await systemd.RunAsync(["bash", Script, "start", .. relays.Select(r => r.Dir)], ct, Repo.Root);
            Assert.That(started.ExitCode, Is.Zero, $"start: {started.StdOut}\n{started.StdErr}\n{Logs(relays)}");
            var upgrade = await systemd.RunAsync(["bash", Script, "--force", "--ready-timeout", "20", broken, .. relays.Select(r => r.Dir)], ct, Repo.Root);
            var active = await systemd.RunAsync(["systemctl", "is-active", "relay-gw1", "relay-gw2"], ct);
            Assert.That(active.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "active", "active" }), "systemctl is-active: both units run");
            await AssertRolledBackAsync(upgrade, relays, ct);
        }
        finally
        {
            await systemd.RunAsync(["bash", Script, "stop", .. relays.Select(r => r.Dir)], CancellationToken.None, Repo.Root);
            systemd.Dispose();
            RemoveRelayFolders(dir, relays);
        }
    }

    /// <summary>
    /// A relay as the relay-gateway package runs it (a systemd unit running its own binary folder, not a relay folder's
    /// current): a folder upgrade would drain it and leave it on its binary; it is refused before anything is drained,
    /// with the mode to use, both without UNIT= and with UNIT= naming that unit.
    /// </summary>
    [Test]
    [CancelAfter(180_000)]
    public async Task RollingUpgrade_FolderAtARelayThatSystemdRunsFromElsewhere_RefusedBeforeTheDrain_NothingChanged(CancellationToken ct)
    {
        RequireSystemd();
        string dir = TempFolders.Create("relay-rolling-pkg-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await StartCoreAsync(publicKey, ct);
        using var systemd = await SystemdManager.StartAsync(ct);
        var relay = NewRelay(dir, "gw1", core.BackhaulPort, publicKey);
        string packaged = Path.Combine(dir, "opt", "relay", "gateway"); // the package's /opt/relay/gateway
        CopyFolder(Path.GetDirectoryName(Repo.GatewayDll)!, packaged);
        WriteUnit(systemd, "relay-gateway", relay, packaged);
        string v2 = Path.Combine(dir, "gateway-v2");
        CopyFolder(Path.GetDirectoryName(Repo.GatewayDll)!, v2);
        File.WriteAllText(Path.Combine(v2, "VERSION"), "v2-test");
        string env = Path.Combine(relay.Dir, "relay.env");
        try
        {
            await systemd.RunAsync(["systemctl", "daemon-reload"], ct);
            var started = await systemd.RunAsync(["systemctl", "start", "relay-gateway"], ct);
            Assert.That(started.ExitCode, Is.Zero, $"{started.StdErr}\n{Logs([relay])}");

            var withoutUnit = await systemd.RunAsync(["bash", Script, "--force", "--ready-timeout", "20", v2, relay.Dir], ct, Repo.Root);
            int afterFirst = await ReadyzAsync(relay, ct);
            File.AppendAllText(env, "UNIT=relay-gateway\n");
            var withUnit = await systemd.RunAsync(["bash", Script, "--force", "--ready-timeout", "20", v2, relay.Dir], ct, Repo.Root);
            int afterSecond = await ReadyzAsync(relay, ct);
            Assert.Multiple(() =>
            {
                Assert.That(withoutUnit.ExitCode, Is.EqualTo(1), withoutUnit.StdOut + withoutUnit.StdErr);
                Assert.That(withoutUnit.StdErr, Does.Contain($"gw1: the gateway at http://127.0.0.1:{relay.Port} was not started from {relay.Dir}")
                    .And.Contain("upgraded with UNIT= in relay.env (the relay-gateway package: UNIT=relay-gateway and its .deb)"), withoutUnit.StdOut + withoutUnit.StdErr);
                Assert.That(withUnit.ExitCode, Is.EqualTo(1), withUnit.StdOut + withUnit.StdErr);
                Assert.That(withUnit.StdErr, Does.Contain($"gw1: relay-gateway does not run {relay.Dir}/current")
                    .And.Contain($"{packaged}/Relay.Gateway.dll").And.Contain("a packaged relay is upgraded with its .deb"), withUnit.StdErr);
                Assert.That(withoutUnit.StdOut + withUnit.StdOut, Does.Not.Contain("draining"), "nothing drained");
                Assert.That(afterFirst, Is.EqualTo(200), "/readyz after the first refusal: not drained");
                Assert.That(afterSecond, Is.EqualTo(200), "/readyz after the second refusal: not drained");
                Assert.That(Directory.GetDirectories(Path.Combine(relay.Dir, "releases")).Select(Path.GetFileName), Is.EqualTo(new[] { "v1" }), "nothing installed");
            });
        }
        finally
        {
            await systemd.RunAsync(["systemctl", "stop", "relay-gateway"], CancellationToken.None);
            systemd.Dispose();
            RemoveRelayFolders(dir, [relay]);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task RollingUpgrade_BadArguments_OneLine_NothingTouched(CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("scripts/rolling-upgrade.sh is for Linux hosts");
        }

        string dir = TempFolders.Create("relay-rolling-args-");
        var relay = NewRelay(dir, "gw1", backhaulPort: 1, publicKey: Path.Combine(dir, "none.pem"));
        var notAFolder = await RunScriptAsync(ct, [Path.Combine(dir, "missing"), relay.Dir]);
        var notReady = await RunScriptAsync(ct, [Path.GetDirectoryName(Repo.GatewayDll)!, relay.Dir]);
        var badTimeout = await RunScriptAsync(ct, ["--drain-timeout", "soon", dir, relay.Dir]);
        Assert.Multiple(() =>
        {
            Assert.That(notAFolder.ExitCode, Is.EqualTo(1));
            Assert.That(notAFolder.StdErr.Trim(), Does.EndWith("neither a folder of gateway binaries nor a .deb"));
            Assert.That(notReady.ExitCode, Is.EqualTo(1));
            Assert.That(notReady.StdErr.Trim(), Does.Contain("gw1: http://127.0.0.1:").And.Contain("/readyz is not 200 before the upgrade"));
            Assert.That(badTimeout.ExitCode, Is.EqualTo(2));
            Assert.That(badTimeout.StdErr.Trim(), Does.Contain("timeouts are whole seconds"));
            Assert.That(new FileInfo(Path.Combine(relay.Dir, "current")).LinkTarget, Is.EqualTo("releases/v1"), "nothing installed");
        });
        RemoveRelayFolders(dir, [relay]);
    }

    private static void Require()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("scripts/rolling-upgrade.sh is for Linux hosts");
        }

        if (HaproxyProcess.Executable is null)
        {
            Assert.Ignore("HAProxy is not installed: apt-get install haproxy (./build.sh test installs it when run as root)");
        }

        foreach (string built in new[] { Repo.GatewayDll, LoadGenDll })
        {
            if (!File.Exists(built))
            {
                Assert.Ignore($"not built: {built}; run dotnet build Relay.sln -c {Repo.Configuration}");
            }
        }
    }

    private static Task<CoreSimHost> StartCoreAsync(string publicKey, CancellationToken ct, Action<CoreSimOptions>? more = null) =>
        CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
            o.SharedKey = SharedKey;
            o.PublicKeyPath = publicKey;
            more?.Invoke(o);
        }, ct);

    /// <summary>A broken new version: its Relay.Gateway.dll is not an assembly, so the process exits at once.</summary>
    private static string BrokenRelease(string dir)
    {
        string broken = Path.Combine(dir, "gateway-broken");
        CopyFolder(Path.GetDirectoryName(Repo.GatewayDll)!, broken);
        File.WriteAllText(Path.Combine(broken, "Relay.Gateway.dll"), "not an assembly");
        File.WriteAllText(Path.Combine(broken, "VERSION"), "broken");
        return broken;
    }

    /// <summary>gw1 rolled back to releases/v1 and the rollout stopped (exit 1), gw2 untouched; both serving, undrained.</summary>
    private static async Task AssertRolledBackAsync(ProcessResult upgrade, List<Relay> relays, CancellationToken ct)
    {
        Assert.Multiple(() =>
        {
            Assert.That(upgrade.ExitCode, Is.EqualTo(1), upgrade.StdOut + upgrade.StdErr);
            Assert.That(upgrade.StdErr, Does.Contain("gw1: the new version did not get ready").And.Contain("rolling back to releases/v1"), upgrade.StdErr + Logs(relays));
            Assert.That(upgrade.StdErr, Does.Contain("gw1: rolled back to releases/v1; the rollout stopped here"));
            Assert.That(upgrade.StdOut, Does.Not.Contain("gw2:"), "the next relay is left untouched");
            Assert.That(new FileInfo(Path.Combine(relays[0].Dir, "current")).LinkTarget, Is.EqualTo("releases/v1"));
            Assert.That(new FileInfo(Path.Combine(relays[1].Dir, "current")).LinkTarget, Is.EqualTo("releases/v1"));
        });
        foreach (var r in relays)
        {
            Assert.That(await ReadyzAsync(r, ct), Is.EqualTo(200), $"{r.Id} is serving (the previous release, undrained)");
        }
    }

    private static void RequireSystemd()
    {
        if (SystemdManager.CheckPrerequisites() is { } missing)
        {
            Assert.Ignore(missing);
        }

        if (!File.Exists(Repo.GatewayDll))
        {
            Assert.Ignore($"not built: {Repo.GatewayDll}; run dotnet build Relay.sln -c {Repo.Configuration}");
        }
    }

    /// <summary>
    /// A unit for <paramref name="relay"/> as the package's (Type=notify: started once /readyz is 200; restarted on
    /// failure) running the gateway in <paramref name="binaries"/> with the relay's gateway.args, output to its gateway.log.
    /// </summary>
    private static void WriteUnit(SystemdManager systemd, string name, Relay relay, string binaries)
    {
        string dotnet = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "dotnet")).FirstOrDefault(File.Exists) ?? "/usr/bin/dotnet";
        string args = string.Join(' ', File.ReadAllLines(Path.Combine(relay.Dir, "gateway.args")));
        File.WriteAllText(Path.Combine(systemd.UnitsDir, name + ".service"), $"""
            [Unit]
            Description=Relay gateway {relay.Id} (rolling-upgrade tests)

            [Service]
            Type=notify
            NotifyAccess=main
            ExecStart={dotnet} {binaries}/Relay.Gateway.dll {args}
            WorkingDirectory={relay.Dir}
            Environment=ASPNETCORE_ENVIRONMENT=Production
            KillMode=mixed
            TimeoutStartSec=60
            TimeoutStopSec=30
            Restart=on-failure
            RestartSec=2
            RestartPreventExitStatus=2
            StandardOutput=append:{relay.Dir}/gateway.log
            StandardError=inherit

            """);
    }

    /// <summary>/readyz's status code: 200 while the relay takes sessions, 503 once drained (or sick).</summary>
    private static async Task<int> ReadyzAsync(Relay relay, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var readyz = await http.GetAsync($"http://127.0.0.1:{relay.Port}/readyz", ct);
        return (int)readyz.StatusCode;
    }

    private static Relay NewRelay(string dir, string id, int backhaulPort, string publicKey)
    {
        var relay = new Relay(id, Path.Combine(dir, id), Ports.Free(), Ports.Free());
        CopyFolder(Path.GetDirectoryName(Repo.GatewayDll)!, Path.Combine(relay.Dir, "releases", "v1"));
        File.CreateSymbolicLink(Path.Combine(relay.Dir, "current"), "releases/v1");
        File.WriteAllText(Path.Combine(relay.Dir, "relay.env"), $"URL=http://127.0.0.1:{relay.Port}\nADMIN_KEY={AdminKey}\n");
        string[] args =
        [
            "--Gateway:BindAddress=127.0.0.1", $"--Gateway:HttpPort={relay.Port}", $"--Gateway:PublicKeyPath={publicKey}",
            $"--Gateway:Backhaul:Endpoints:0=127.0.0.1:{backhaulPort}", $"--Gateway:Backhaul:SharedKey={SharedKey}",
            $"--Gateway:Backhaul:RelayId={id}", "--Gateway:Backhaul:Region=test", "--Gateway:Backhaul:LinksPerEndpoint=2",
            "--Gateway:Backhaul:HeartbeatInterval=00:00:00.5", $"--Gateway:AdminKey={AdminKey}",
            $"--Gateway:TrustedProxies:0={HaproxyProcess.SourceAddress}", "--Gateway:ShutdownTimeout=00:00:05",
            $"--Gateway:Health:AgentPort={relay.AgentPort}", "--Gateway:Health:EvaluationInterval=00:00:00.2",
            "--Gateway:Health:ReportInterval=00:00:00.4", "--Gateway:Health:DrainBatchInterval=00:00:00.05", "--Gateway:Health:DrainBatchSize=20",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Relay=Information",
        ];
        File.WriteAllLines(Path.Combine(relay.Dir, "gateway.args"), args);
        return relay;
    }

    private static void RemoveRelayFolders(string dir, IEnumerable<Relay> relays)
    {
        foreach (var r in relays)
        {
            File.Delete(Path.Combine(r.Dir, "current")); // the symlink first, then the folders it points into
        }

        Directory.Delete(dir, recursive: true);
    }

    private static async Task<ProcessResult> RunScriptAsync(CancellationToken ct, string[] args)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromMinutes(4));
        return await ProcessRunner.RunAsync("bash", [Script, .. args], limit.Token, Repo.Root);
    }

    private static async Task<long> SessionsAsync(Relay relay, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var status = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{relay.Port}/status", ct));
        return status.RootElement.GetProperty("health").GetProperty("sessions").GetInt64();
    }

    private static string Logs(IEnumerable<Relay> relays) => string.Join("\n", relays.Select(r =>
    {
        string log = Path.Combine(r.Dir, "gateway.log");
        return $"--- {r.Id}:\n" + (File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(15)) : "(no log)");
    }));

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private sealed record Relay(string Id, string Dir, int Port, int AgentPort);
}
