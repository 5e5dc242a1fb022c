using Relay.WireGuard.Devices;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Relay.WanBench;

/// <summary>
/// Network namespaces for one run (adapted from tests/Relay.WireGuard.Tests/Netns/NetnsLab.cs without NUnit):
/// unique names rly-&lt;hex&gt;-…, veth pairs, processes started inside them. <see cref="Dispose"/> is idempotent and
/// is also called from Ctrl-C / SIGTERM: it kills its own processes by pid (SIGTERM, then SIGKILL), then anything
/// still left inside its own namespaces (the wireguard-go children of those processes) by pid, then deletes the
/// namespaces and its root-side links.
/// </summary>
internal sealed class Lab : IDisposable
{
    public const string Missing = "needs root, wireguard-go and iproute2: apt-get install wireguard-go wireguard-tools iproute2 (or bash scripts/install-wireguard.sh), then run as root";

    private readonly object _gate = new();
    private readonly List<string> _namespaces = [];
    private readonly List<string> _rootLinks = [];
    private readonly List<Process> _processes = [];
    private readonly List<string> _files = [];
    private bool _disposed;

    public Lab()
    {
        Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        Octet = RandomNumberGenerator.GetInt32(1, 250);
    }

    /// <summary>Six hex digits unique to this run.</summary>
    public string Id { get; }

    /// <summary>A random third octet for this run's subnets.</summary>
    public int Octet { get; }

    /// <summary>Null when root with wireguard-go and ip; otherwise what is missing.</summary>
    public static string? CheckPrerequisites()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "Linux only. " + Missing;
        }

        var lacking = new List<string>();
        if (Environment.UserName != "root")
        {
            lacking.Add("root");
        }

        foreach (string tool in new[] { "wireguard-go", "ip" })
        {
            if (!OnPath(tool))
            {
                lacking.Add(tool);
            }
        }

        return lacking.Count == 0 ? null : $"missing: {string.Join(", ", lacking)}. {Missing}";
    }

    public string Namespace(string role)
    {
        string name = $"rly-{Id}-{role}";
        lock (_gate)
        {
            ThrowIfDisposed();
            Run("ip", "netns", "add", name);
            _namespaces.Add(name);
        }

        Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>A veth pair; a null namespace is the root namespace (this process).</summary>
    public void Veth(string? nsA, string ifA, string addrA, string? nsB, string ifB, string addrB)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            Run("ip", "link", "add", ifA, "type", "veth", "peer", "name", ifB);
            _rootLinks.Add(ifA);
        }

        foreach (var (ns, iface, addr) in new[] { (nsA, ifA, addrA), (nsB, ifB, addrB) })
        {
            if (ns is not null)
            {
                Run("ip", "link", "set", iface, "netns", ns);
            }

            Ip(ns, "address", "add", addr, "dev", iface);
            Ip(ns, "link", "set", iface, "up");
        }
    }

    /// <summary>A file this run's processes create outside the namespaces (a wireguard-go UAPI socket), removed at the end.</summary>
    public void Owns(string path)
    {
        lock (_gate)
        {
            _files.Add(path);
        }
    }

    /// <summary>Runs <c>ip</c> in a namespace (null = root).</summary>
    public static string Ip(string? ns, params string[] args) => Run(IpCommand(ns, args));

    /// <summary>Runs a command inside a namespace.</summary>
    public static string Exec(string ns, params string[] command) => Run(["ip", "netns", "exec", ns, .. command]);

    /// <summary>Starts a process inside a namespace, stdout and stderr to <paramref name="log"/>.</summary>
    public Process Start(string ns, string log, params string[] command)
    {
        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["netns", "exec", ns, .. command])
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        Process process;
        lock (_gate)
        {
            ThrowIfDisposed();
            process = Process.Start(start)!;
            _processes.Add(process);
        }

        var writer = new StreamWriter(log) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs a tool (no shell), bounded in time; throws <see cref="IOException"/> with its error text when it fails.</summary>
    public static string Run(params string[] command) => ProcessRunner.RunChecked(command[0], command[1..]);

    public void Dispose()
    {
        Process[] processes;
        string[] namespaces, links, files;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            processes = [.. _processes];
            namespaces = [.. _namespaces];
            links = [.. _rootLinks];
            files = [.. _files];
        }

        foreach (var process in processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    // SIGTERM first (core-sim and the gateway tear their tunnel down), then SIGKILL by pid.
                    TryRun("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
                    if (!process.WaitForExit(10_000))
                    {
                        process.Kill(entireProcessTree: true);
                        process.WaitForExit(5_000);
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }

            process.Dispose();
        }

        foreach (string ns in namespaces)
        {
            // Anything still running inside our own namespaces was started by our processes (wireguard-go).
            string pids = TryRun("ip", "netns", "pids", ns) ?? "";
            foreach (string pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                TryRun("kill", "-KILL", pid);
            }

            TryRun("ip", "netns", "del", ns);
        }

        foreach (string link in links)
        {
            TryRun("ip", "link", "del", link); // usually gone with its peer's namespace already
        }

        foreach (string file in files)
        {
            // /var/run/wireguard is not per network namespace: a killed wireguard-go leaves its socket behind.
            try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static string? TryRun(params string[] command)
    {
        try
        {
            return Run(command);
        }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static string[] IpCommand(string? ns, string[] args) => ns is null ? ["ip", .. args] : ["ip", "-n", ns, .. args];

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));
}
