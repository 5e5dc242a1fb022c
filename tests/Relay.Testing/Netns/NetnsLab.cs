using System.Security.Cryptography;
using Relay.Testing.Processes;

namespace Relay.Testing.Netns;

/// <summary>
/// Network namespaces for one test or one benchmark run: every name carries a prefix unique to this lab
/// (<c>rly-&lt;hex&gt;-…</c>; interfaces end in the same hex), veth pairs, and processes started inside them.
/// <see cref="Dispose"/> is idempotent and also runs when this process exits (Ctrl-C, SIGTERM, a test host shutting
/// down): it stops its own processes by pid (SIGTERM, then SIGKILL), then anything still left inside its own
/// namespaces (the wireguard-go children of those processes) by pid, then deletes the namespaces, its root-side
/// links and the UAPI sockets its interfaces left behind.
/// </summary>
public sealed class NetnsLab : IDisposable
{
    public const string Missing = "needs root, wireguard-go and iproute2: apt-get install wireguard-go wireguard-tools iproute2 (or bash scripts/install-wireguard.sh), then run as root";

    private readonly Lock _gate = new();
    private readonly List<string> _namespaces = [];
    private readonly List<string> _rootLinks = [];
    private readonly List<ChildProcess> _processes = [];
    private readonly EventHandler _onExit;
    private bool _disposed;

    public NetnsLab()
    {
        Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        Octet = RandomNumberGenerator.GetInt32(1, 250);
        _onExit = (_, _) => Dispose();
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    /// <summary>Six hex digits unique to this lab: in every namespace and interface name it creates.</summary>
    public string Id { get; }

    /// <summary>A random third octet for this lab's subnets.</summary>
    public int Octet { get; }

    /// <summary>Null when this is Linux, run as root, with wireguard-go and ip on PATH; otherwise what is missing.</summary>
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

        lacking.AddRange(new[] { "wireguard-go", "ip" }.Where(tool => !OnPath(tool)));
        return lacking.Count == 0 ? null : $"missing: {string.Join(", ", lacking)}. {Missing}";
    }

    /// <summary>Creates the namespace <c>rly-&lt;id&gt;-<paramref name="role"/></c> with its loopback up.</summary>
    public string Namespace(string role)
    {
        string name = $"rly-{Id}-{role}";
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Run("ip", "netns", "add", name);
            _namespaces.Add(name);
        }

        Ip(name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>A veth pair; a null namespace is the root namespace (this process).</summary>
    public void Veth(string? nsA, string ifA, string addrA, string? nsB, string ifB, string addrB)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
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

    /// <summary>Runs <c>ip</c> in a namespace (null = root).</summary>
    public static string Ip(string? ns, params string[] args) => Run(ns is null ? ["ip", .. args] : ["ip", "-n", ns, .. args]);

    /// <summary>Runs a command inside a namespace to its end.</summary>
    public static string Exec(string ns, params string[] command) => Run(["ip", "netns", "exec", ns, .. command]);

    /// <summary>Runs a tool (no shell), bounded in time; throws <see cref="IOException"/> with its error text when it fails.</summary>
    public static string Run(params string[] command) => ProcessRunner.Run(command);

    /// <summary>Starts a long-running process inside a namespace, its output to <paramref name="logPath"/>; stopped by <see cref="Dispose"/>.</summary>
    public ChildProcess Start(string ns, string name, string? logPath, params IEnumerable<string> command)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var process = ChildProcess.Start(name, ["ip", "netns", "exec", ns, .. command], logPath);
            _processes.Add(process);
            return process;
        }
    }

    public void Dispose()
    {
        ChildProcess[] processes;
        string[] namespaces, links;
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
        }

        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        // SIGTERM first (core-sim and the gateway tear their tunnel down), then SIGKILL by pid; all at once, each on a
        // thread of its own: a gateway still holding sessions whose clients left silently drains them for seconds, and
        // one after another those waits added up (7-10 s per lab).
        var stopping = processes.Select(process => new Thread(() =>
        {
            process.Stop(TimeSpan.FromSeconds(10));
            process.Dispose();
        }) { IsBackground = true, Name = "stop " + process.Name }).ToList();
        stopping.ForEach(t => t.Start());
        stopping.ForEach(t => t.Join());

        foreach (string ns in namespaces)
        {
            // Anything still running inside our own namespaces was started by our processes (wireguard-go).
            string pids = ProcessRunner.TryRun("ip", "netns", "pids", ns) ?? "";
            foreach (string pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                ProcessRunner.TryRun("kill", "-KILL", pid);
            }

            ProcessRunner.TryRun("ip", "netns", "del", ns);
        }

        foreach (string link in links)
        {
            ProcessRunner.TryRun("ip", "link", "del", link); // usually gone with its peer's namespace already
        }

        // /var/run/wireguard is not per network namespace: a killed wireguard-go leaves its UAPI socket behind.
        if (Directory.Exists("/var/run/wireguard"))
        {
            foreach (string socket in Directory.GetFiles("/var/run/wireguard", $"*{Id}.sock"))
            {
                try { File.Delete(socket); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));
}
