using Relay.Testing.Netns;
using Relay.Testing.Processes;

namespace Relay.Testing.Regions;

/// <summary>
/// A real PowerDNS Authoritative (Debian's pdns-server with the bind backend) serving the steering zone that
/// relay-regions (tools/Relay.Regions, run as a process) generated from a regions file. Stopped by pid in
/// <see cref="Dispose"/>; its folder (generated files, control socket) is a <see cref="TempFolders"/> folder.
/// </summary>
public sealed class PdnsProcess : IDisposable
{
    public const string Install = "apt-get install -y pdns-server pdns-backend-bind bind9-dnsutils (or bash scripts/install-pdns.sh as root; ./build.sh test runs it)";

    private readonly ChildProcess _process;

    private PdnsProcess(ChildProcess process, string folder, string address, int port)
    {
        _process = process;
        Folder = folder;
        Address = address;
        Port = port;
    }

    /// <summary>The generated files: pdns.conf, named.conf, the zone file, subnets.tsv.</summary>
    public string Folder { get; }

    /// <summary>The (first) address it answers on.</summary>
    public string Address { get; }

    public int Port { get; }

    /// <summary>The last lines of PowerDNS's output (its health-check verdicts among them).</summary>
    public string Log => _process.Tail(30);

    public static string Executable => "/usr/sbin/pdns_server";

    /// <summary>The built generator (relay-regions), run with <c>dotnet</c>.</summary>
    public static string GeneratorDll => Path.Combine(Repo.Root, "tools", "Relay.Regions", "bin", Repo.Configuration, "net10.0", "Relay.Regions.dll");

    /// <summary>Null when pdns_server, its bind backend, dig and the built generator are here; otherwise what is missing.</summary>
    public static string? Missing()
    {
        var missing = new List<string>();
        if (!File.Exists(Executable))
        {
            missing.Add("pdns_server");
        }

        if (!Directory.Exists("/usr/lib") || !Directory.EnumerateDirectories("/usr/lib").Any(d => File.Exists(Path.Combine(d, "pdns", "libbindbackend.so"))))
        {
            missing.Add("the PowerDNS bind backend");
        }

        if (Dig.Executable is null)
        {
            missing.Add("dig");
        }

        string build = File.Exists(GeneratorDll) ? "" : $"; not built: {GeneratorDll} (dotnet build Relay.sln -c {Repo.Configuration})";
        return missing.Count == 0 && build.Length == 0 ? null : $"missing: {string.Join(", ", missing)}{build}. {Install}";
    }

    /// <summary>Runs relay-regions with <paramref name="arguments"/> (bounded in time) and returns what it did.</summary>
    public static async Task<ProcessResult> GeneratorAsync(IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        return await ProcessRunner.RunAsync("dotnet", [GeneratorDll, .. arguments], limit.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Generates the zone and configuration from <paramref name="regionsPath"/> (PowerDNS listening on
    /// <paramref name="localAddresses"/>, a free port, readiness checked every <paramref name="healthCheckInterval"/>
    /// seconds) and starts pdns_server on them, in the foreground, until it says it is ready.
    /// </summary>
    public static Task<PdnsProcess> StartAsync(string regionsPath, IReadOnlyList<string> localAddresses, int healthCheckInterval, CancellationToken cancellationToken) =>
        StartAsync(regionsPath, localAddresses, Ports.Free(), healthCheckInterval, healthCheckTimeout: 1, (folder, command) => ChildProcess.Start("pdns", command), cancellationToken);

    /// <summary>
    /// The same inside a network namespace of <paramref name="netns"/> (e.g. one attached to the regions lab's WAN:
    /// <see cref="RegionsLab.StartDnsAsync"/>), on <paramref name="address"/>:<paramref name="port"/>; the readiness
    /// checks then leave from that namespace (across the lab's WAN), so <paramref name="healthCheckTimeout"/> must
    /// cover a new connection's two round trips to the farthest relay.
    /// </summary>
    public static Task<PdnsProcess> StartInNamespaceAsync(NetnsLab netns, string ns, string regionsPath, string address, int port, int healthCheckInterval, int healthCheckTimeout, CancellationToken cancellationToken) =>
        StartAsync(regionsPath, [address], port, healthCheckInterval, healthCheckTimeout, (folder, command) => netns.Start(ns, "pdns", Path.Combine(folder, "pdns.log"), command), cancellationToken);

    private static async Task<PdnsProcess> StartAsync(string regionsPath, IReadOnlyList<string> localAddresses, int port, int healthCheckInterval, int healthCheckTimeout,
        Func<string, IReadOnlyList<string>, ChildProcess> start, CancellationToken cancellationToken)
    {
        string folder = TempFolders.Create("relay-pdns-");
        var generated = await GeneratorAsync(
            ["generate", "--regions", regionsPath, "--out", folder, "--local-address", string.Join(',', localAddresses), "--local-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--health-check-interval", healthCheckInterval.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--health-check-timeout", healthCheckTimeout.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            cancellationToken).ConfigureAwait(false);
        if (generated.ExitCode != 0)
        {
            Directory.Delete(folder, recursive: true);
            throw new InvalidOperationException($"relay-regions generate failed ({generated.ExitCode}): {generated.StdErr}");
        }

        var process = start(folder, [Executable, $"--config-dir={folder}", "--daemon=no", "--guardian=no", "--disable-syslog", "--write-pid=no", $"--socket-dir={folder}"]);
        try
        {
            await process.WaitForOutputAsync("ready to distribute questions", TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            process.Dispose();
            Directory.Delete(folder, recursive: true);
            throw;
        }

        return new PdnsProcess(process, folder, localAddresses[0], port);
    }

    /// <summary>Stops PowerDNS (SIGKILL by pid) and removes its folder.</summary>
    public void Dispose()
    {
        _process.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // TempFolders removes it at exit
        }
    }
}
