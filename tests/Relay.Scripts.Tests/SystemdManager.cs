using System.Globalization;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>
/// A real systemd service manager for the tests of rolling-upgrade.sh's UNIT= mode where systemd is not PID 1:
/// <c>systemd-manager.sh</c> runs <c>systemd --user</c> in a cgroup and mount namespace of its own, where a plain
/// <c>systemctl</c> (as root) talks to it. Units go in <see cref="UnitsDir"/>; commands that use them run through
/// <see cref="RunAsync"/> (entered into its namespaces). <see cref="Dispose"/> (also at process exit) stops the
/// manager by pid (SIGTERM: it stops its units), then anything left in its own cgroup, and removes that cgroup.
/// </summary>
internal sealed class SystemdManager : IDisposable
{
    private readonly ChildProcess _manager;
    private readonly string _state;
    private readonly EventHandler _onExit;
    private bool _disposed;

    private SystemdManager(ChildProcess manager, string state)
    {
        _manager = manager;
        _state = state;
        _onExit = (_, _) => Dispose();
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    /// <summary>Where unit files go (then <c>systemctl daemon-reload</c>).</summary>
    public string UnitsDir => Path.Combine(_state, "units");

    private static string Launcher => Path.Combine(Repo.Root, "tests", "Relay.Scripts.Tests", "systemd-manager.sh");

    /// <summary>Null when a manager can run here (Linux, root, systemd, unshare, nsenter, cgroup v2); otherwise what is missing.</summary>
    public static string? CheckPrerequisites()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "Linux only";
        }

        var lacking = new List<string>();
        if (Environment.UserName != "root")
        {
            lacking.Add("root (a cgroup and mount namespace of its own)");
        }

        if (!File.Exists("/lib/systemd/systemd") && !File.Exists("/usr/lib/systemd/systemd"))
        {
            lacking.Add("systemd (apt-get install systemd)");
        }

        lacking.AddRange(new[] { "systemctl", "unshare", "nsenter" }.Where(tool => ProcessRunner.TryRun("sh", "-c", $"command -v {tool}") is null));
        if (!File.ReadAllText("/proc/self/mounts").Contains(" cgroup2 ", StringComparison.Ordinal))
        {
            lacking.Add("a cgroup2 mount");
        }

        return lacking.Count == 0 ? null : $"a systemd manager for UNIT= needs: {string.Join(", ", lacking)}";
    }

    /// <summary>Starts the manager and waits until <c>systemctl is-system-running</c> answers from inside.</summary>
    public static async Task<SystemdManager> StartAsync(CancellationToken ct)
    {
        string state = TempFolders.Create("relay-systemd-");
        var manager = new SystemdManager(ChildProcess.Start("systemd", ["bash", Launcher, state]), state);
        try
        {
            string last = "";
            for (int i = 0; i < 100; i++)
            {
                if (manager._manager.HasExited)
                {
                    break;
                }

                if (File.Exists(Path.Combine(state, "runtime", "systemd", "private")))
                {
                    var running = await manager.RunAsync(["systemctl", "is-system-running"], ct);
                    last = (running.StdOut + running.StdErr).Trim();
                    if (last is "running" or "degraded")
                    {
                        return manager;
                    }
                }

                await Task.Delay(100, ct);
            }

            throw new InvalidOperationException($"systemd did not come up ({last}):\n{manager._manager.Log}");
        }
        catch
        {
            manager.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="command"/> inside the manager's namespaces (its systemctl), bounded by 4 minutes.</summary>
    public async Task<ProcessResult> RunAsync(IReadOnlyList<string> command, CancellationToken ct, string? workingDirectory = null)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromMinutes(4));
        return await ProcessRunner.RunAsync(
            "nsenter", ["-t", _manager.Id.ToString(CultureInfo.InvariantCulture), "-m", "-C", "--", .. command], limit.Token, workingDirectory);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        _manager.Stop(TimeSpan.FromSeconds(20));
        _manager.Dispose();
        string groupFile = Path.Combine(_state, "cgroup");
        if (File.Exists(groupFile) && File.ReadAllText(groupFile).Trim() is { Length: > 0 } group && Directory.Exists(group))
        {
            // What its units left (none after a clean stop): killed through its own cgroup, then the groups removed, deepest first.
            if (File.Exists(Path.Combine(group, "cgroup.kill")))
            {
                File.WriteAllText(Path.Combine(group, "cgroup.kill"), "1");

                // The kill is asynchronous: the group is empty once cgroup.events says "populated 0" (bounded: 2 s).
                string events = Path.Combine(group, "cgroup.events");
                for (int i = 0; i < 200 && File.Exists(events) && File.ReadAllText(events).Contains("populated 1", StringComparison.Ordinal); i++)
                {
                    Thread.Sleep(10);
                }
            }

            foreach (string dir in Directory.EnumerateDirectories(group, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length).Append(group))
            {
                ProcessRunner.TryRun("rmdir", dir);
            }
        }

        TempFolders.Remove(_state);
    }
}
