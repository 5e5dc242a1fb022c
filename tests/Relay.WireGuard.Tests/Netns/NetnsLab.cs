using Relay.WireGuard.Devices;
using System.Diagnostics;
using System.Security.Cryptography;

namespace Relay.WireGuard.Tests.Netns;

/// <summary>
/// Network namespaces for one test: unique names (rly-&lt;hex&gt;-…), veth pairs, tc netem, and processes
/// started inside them. Dispose kills its own processes by pid and deletes its namespaces, even after a failure.
/// </summary>
internal sealed class NetnsLab : IAsyncDisposable
{
    public const string Missing = "needs root and wireguard-go: apt-get install wireguard-go wireguard-tools iproute2 (or bash scripts/install-wireguard.sh)";

    private readonly List<string> _namespaces = [];
    private readonly List<string> _rootLinks = [];
    private readonly List<Process> _processes = [];

    public NetnsLab()
    {
        Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        Octet = RandomNumberGenerator.GetInt32(1, 250);
    }

    /// <summary>Six hex digits unique to this lab.</summary>
    public string Id { get; }

    /// <summary>A random third octet for this lab's subnets.</summary>
    public int Octet { get; }

    /// <summary>Skips the test (with the message) unless root with wireguard-go, ip and tc.</summary>
    public static void RequireRootAndWireGuard()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !OnPath("wireguard-go") || !OnPath("ip") || !OnPath("tc"))
        {
            Assert.Ignore(Missing);
        }
    }

    public string Namespace(string role)
    {
        string name = $"rly-{Id}-{role}";
        Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>A veth pair; a null namespace is the root namespace (the test process).</summary>
    public void Veth(string? nsA, string ifA, string addrA, string? nsB, string ifB, string addrB)
    {
        Run("ip", "link", "add", ifA, "type", "veth", "peer", "name", ifB);
        _rootLinks.Add(ifA);
        foreach (var (ns, iface, addr) in new[] { (nsA, ifA, addrA), (nsB, ifB, addrB) })
        {
            if (ns is not null)
            {
                Run("ip", "link", "set", iface, "netns", ns);
            }

            Run(Ip(ns, "address", "add", addr, "dev", iface));
            Run(Ip(ns, "link", "set", iface, "up"));
        }
    }

    /// <summary>Sets (or changes) the netem qdisc of an interface, e.g. "delay 60ms loss 1%".</summary>
    public void Netem(string? ns, string iface, string spec)
    {
        string[] tc = ["tc", "qdisc", "replace", "dev", iface, "root", "netem", .. spec.Split(' ')];
        Run(ns is null ? tc : ["ip", "netns", "exec", ns, .. tc]);
    }

    /// <summary>Starts a process inside a namespace, output to <paramref name="log"/>.</summary>
    public Process Start(string ns, string log, params string[] command)
    {
        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["netns", "exec", ns, .. command])
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start)!;
        _processes.Add(process);
        var writer = new StreamWriter(log) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs a tool (no shell), bounded in time; throws <see cref="IOException"/> with its error text when it fails.</summary>
    public static string Run(params string[] command) => ProcessRunner.RunChecked(command[0], command[1..]);

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    // SIGTERM first (the child tears its tunnel down), then SIGKILL by pid.
                    Run("kill", "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    try
                    {
                        await process.WaitForExitAsync(wait.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        process.Kill(entireProcessTree: true);
                    }
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                // already gone
            }

            process.Dispose();
        }

        foreach (string ns in _namespaces)
        {
            // Deleting a namespace kills nothing by itself: the processes above are gone; its links go with it.
            try { Run("ip", "netns", "del", ns); } catch (IOException) { }
        }

        foreach (string link in _rootLinks)
        {
            try { Run("ip", "link", "del", link); } catch (IOException) { }
        }

        // wireguard-go leaves its UAPI socket behind when it is killed rather than stopped: remove this lab's.
        if (Directory.Exists("/var/run/wireguard"))
        {
            foreach (string socket in Directory.GetFiles("/var/run/wireguard", $"*{Id}.sock"))
            {
                try { File.Delete(socket); } catch (IOException) { }
            }
        }
    }

    private static string[] Ip(string? ns, params string[] args) => ns is null ? ["ip", .. args] : ["ip", "-n", ns, .. args];

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));
}
