using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>
/// Security review: the operator scripts keep secrets off command lines. Every local user reads every process's
/// command line (/proc/PID/cmdline, `ps auxww`) on a host without hidepid; the relay CLI reads the admin key from a
/// file for that reason ("never from the command line (ps shows it)", tools/Relay.Cli/README.md).
/// </summary>
[TestFixture]
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OperatorSecretsTests
{
    private static string Script => Path.Combine(Repo.Root, "scripts", "rolling-upgrade.sh");

    /// <summary>
    /// scripts/rolling-upgrade.sh reads the relay's admin key from ADMIN_KEY_FILE and then runs
    /// <c>curl -H "Authorization: Bearer $ADMIN_KEY"</c>: for as long as each drain and undrain call lasts (up to 5 s)
    /// any local user sees the production admin key in curl's command line, and with it drains the relay, turns Under
    /// Attack mode on or purges its edge cache. The relay here is a stand-in that holds the drain request open while
    /// the test reads every process's command line, as such a user would; then it answers 401 and the script stops.
    /// The header belongs in curl's config on standard input (<c>curl -K -</c>, fed by printf, a builtin) or a 0600 file
    /// (<c>-H @FILE</c>).
    /// </summary>
    [Test]
    [CancelAfter(120_000)]
    public async Task RollingUpgrade_AdminKeyFromAFile_IsOnNoProcessCommandLine_WhileItDrains(CancellationToken ct)
    {
        string dir = TempFolders.Create("relay-upgrade-argv-");
        string adminKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        string keyFile = Path.Combine(dir, "admin.key");
        await File.WriteAllTextAsync(keyFile, adminKey + "\n", ct);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var drainArrived = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var relay = ServeAsync(listener, drainArrived, release, stop.Token);

        // The relay folder: relay.env with the key file, gateway.pid naming a live "Relay.Gateway" (the script checks
        // the pid's command line before it touches a relay), and a new release folder.
        string relayDir = Path.Combine(dir, "gw1");
        Directory.CreateDirectory(relayDir);
        await File.WriteAllTextAsync(Path.Combine(relayDir, "relay.env"), $"URL=http://127.0.0.1:{port}\nADMIN_KEY_FILE={keyFile}\n", ct);
        using var gateway = ChildProcess.Start("stand-in gateway", ["bash", "-c", "exec -a Relay.Gateway sleep 120"]);
        for (int i = 0; i < 50 && !Cmdline(gateway.Id).Contains("Relay.Gateway", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100, ct);
        }

        await File.WriteAllTextAsync(Path.Combine(relayDir, "gateway.pid"), gateway.Id.ToString(CultureInfo.InvariantCulture) + "\n", ct);
        string next = Path.Combine(dir, "next");
        Directory.CreateDirectory(next);
        await File.WriteAllTextAsync(Path.Combine(next, "Relay.Gateway"), "#!/bin/sh\n", ct);
        File.SetUnixFileMode(Path.Combine(next, "Relay.Gateway"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        using var upgrade = ChildProcess.Start("rolling-upgrade", ["bash", Script, "--ready-timeout", "5", next, relayDir]);
        try
        {
            var arrived = await Task.WhenAny(drainArrived.Task, Task.Delay(TimeSpan.FromSeconds(60), ct));
            Assert.That(arrived, Is.SameAs(drainArrived.Task), "the script asks the relay to drain:\n" + upgrade.Log);

            // What any local user sees while the drain request is in flight.
            var exposing = Processes().Where(p => p.Pid != Environment.ProcessId && p.Cmdline.Contains(adminKey, StringComparison.Ordinal)).ToList();
            release.TrySetResult();
            Assert.That(exposing.Select(p => $"pid {p.Pid}: {p.Cmdline}"), Is.Empty, "the admin key is on a command line every local user can read");
            Assert.That(await drainArrived.Task, Does.Contain($"\r\nAuthorization: Bearer {adminKey}\r\n"), "the drain request still carries the key");
        }
        finally
        {
            release.TrySetResult();
            upgrade.Stop(TimeSpan.FromSeconds(10));
            gateway.Kill();
            await stop.CancelAsync();
            listener.Stop();
            try
            {
                await relay;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            TempFolders.Remove(dir);
        }
    }

    /// <summary>
    /// `./build.sh run` (scripts/run-relay.sh) and `./build.ps1 run` started core-sim and the gateway with
    /// <c>--CoreSim:AdminKey=…</c>, <c>--CoreSim:RelayKeys:relay-local=…</c>, <c>--Gateway:Backhaul:SharedKey=…</c> and
    /// <c>--Gateway:AdminKey=…</c> on their command lines, for as long as they run: any local user of the machine reads
    /// core-sim's admin key (operator tokens for any site, the fault API, drain orders) and the relay's keys. The gateway
    /// and core-sim take each secret from a file (<c>…File</c> options) or the environment, which other users cannot read.
    /// </summary>
    [TestCase("build.sh")]
    [TestCase("build.ps1")]
    [CancelAfter(600_000)]
    public async Task Run_KeysOfTheRun_AreOnNoProcessCommandLine(string script, CancellationToken ct)
    {
        int core = Ports.Free(), backhaul = Ports.Free(), gateway = Ports.Free(), agent = Ports.Free();
        string[] start = script == "build.sh"
            ? ["bash", Path.Combine(Repo.Root, "build.sh")]
            : [await Pwsh.PathAsync(ct), "-NoLogo", "-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo.Root, "build.ps1")];
        using var run = ChildProcess.Start(script + " run", ["env", "--default-signal=INT", .. start, "run", .. RunVerb.PortArgs(core, backhaul, gateway, agent)]);
        string? folder = null;
        var pids = new List<int>();
        try
        {
            await run.WaitForOutputAsync("Ctrl-C stops both", TimeSpan.FromMinutes(8), ct);
            string output = run.Tail(80);
            folder = System.Text.RegularExpressions.Regex.Match(output, @"Relay is running \(logs in (.+)\):").Groups[1].Value;
            pids.AddRange(new[] { "core-sim.pid", "gateway.pid" }.Select(f => int.Parse(File.ReadAllText(Path.Combine(folder, f)).Trim(), CultureInfo.InvariantCulture)));
            string coreAdmin = System.Text.RegularExpressions.Regex.Match(output, @"core-sim admin key[^\n]*\n\s+(\S+)").Groups[1].Value;
            string admin = System.Text.RegularExpressions.Regex.Match(output, @"Authorization: Bearer ([^""]+)""").Groups[1].Value;
            Assert.That((coreAdmin.Length, admin.Length), Is.Not.EqualTo((0, 0)), "the run prints its keys to its user:\n" + output);

            var exposing = new List<string>();
            foreach (int pid in pids)
            {
                string cmdline = Cmdline(pid);
                foreach (var (name, secret) in new[] { ("core-sim admin key", coreAdmin), ("gateway admin key", admin) })
                {
                    if (secret.Length > 0 && cmdline.Contains(secret, StringComparison.Ordinal))
                    {
                        exposing.Add($"pid {pid}: the {name}");
                    }
                }

                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(cmdline, @"--(Gateway:Backhaul:SharedKey|CoreSim:SharedKey|CoreSim:RelayKeys:[^=\s]+)=\S+"))
                {
                    exposing.Add($"pid {pid}: {m.Groups[1].Value} (a backhaul key)");
                }
            }

            Assert.That(exposing, Is.Empty, "secrets on command lines every local user can read (/proc/PID/cmdline)");
        }
        finally
        {
            RunVerb.CleanUp(run, pids, folder);
        }
    }

    /// <summary>A stand-in relay: GET /readyz 200; POST /admin/drain… held until <paramref name="release"/>, then 401.</summary>
    private static async Task ServeAsync(TcpListener listener, TaskCompletionSource<string> drainArrived, TaskCompletionSource release, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            using var client = await listener.AcceptTcpClientAsync(ct);
            var stream = client.GetStream();
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int n = await stream.ReadAsync(buffer, ct);
                if (n == 0)
                {
                    break;
                }

                head.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            string status = "404 Not Found";
            if (head.ToString().StartsWith("GET /readyz ", StringComparison.Ordinal))
            {
                status = "200 OK";
            }
            else if (head.ToString().StartsWith("POST /admin/", StringComparison.Ordinal))
            {
                drainArrived.TrySetResult(head.ToString());
                await release.Task.WaitAsync(ct);
                status = "401 Unauthorized";
            }

            byte[] answer = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(answer, ct);
        }
    }

    private static IEnumerable<(int Pid, string Cmdline)> Processes()
    {
        foreach (string entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                yield return (pid, Cmdline(pid));
            }
        }
    }

    private static string Cmdline(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
