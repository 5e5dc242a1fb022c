using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Relay.Testing.Processes;

namespace Relay.Testing.Cluster;

/// <summary>
/// A redis-server of the test's own (issue 20): a free loopback port, its own temp dir, no persistence, never the
/// system service. Ended by pid on dispose.
/// </summary>
public sealed class RedisProcess : IDisposable
{
    private readonly ChildProcess _process;

    private RedisProcess(ChildProcess process, int port, string dir)
    {
        _process = process;
        Port = port;
        Dir = dir;
    }

    /// <summary>The redis-server binary, or null when it is not installed (scripts/install-redis.sh).</summary>
    public static string? Binary => new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);

    /// <summary>Why the cluster tests cannot run here, or null. Under CI=true a missing broker is a failure, not a skip.</summary>
    public static string? Missing => Binary is null ? "redis-server is not installed: scripts/install-redis.sh (./build.sh test installs it when run as root)" : null;

    /// <summary>True under CI=true: a missing prerequisite fails the test.</summary>
    public static bool MustRun => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public int Port { get; }

    public string Dir { get; }

    /// <summary><c>127.0.0.1:PORT</c>, what CoreSim:Cluster:Redis takes.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public int Pid => _process.Id;

    public string Log => _process.Log;

    public static async Task<RedisProcess> StartAsync(CancellationToken cancellationToken, int? port = null)
    {
        string binary = Binary ?? throw new InvalidOperationException(Missing);
        int p = port ?? Ports.Free();
        string dir = TempFolders.Create("relay-redis-");
        var process = ChildProcess.Start("redis", [binary, "--port", p.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir,
            "--save", string.Empty, "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes", "--logfile", string.Empty]);
        var redis = new RedisProcess(process, p, dir);
        try
        {
            await process.WaitForOutputAsync("Ready to accept connections", TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            redis.Dispose();
            throw;
        }

        return redis;
    }

    /// <summary>Runs one command (RESP, inline) and returns the raw reply (tests: INFO, KEYS of a small test db).</summary>
    public async Task<string> CommandAsync(CancellationToken cancellationToken, params string[] args)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (string a in args)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken).ConfigureAwait(false);
        var buffer = new byte[64 * 1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        int n = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>SIGSTOP / SIGCONT: the broker stops answering without closing its sockets (a slow broker).</summary>
    public void Pause(bool paused) => ProcessRunner.TryRun("kill", paused ? "-STOP" : "-CONT", Pid.ToString(CultureInfo.InvariantCulture));

    public void Dispose()
    {
        Pause(false);
        _process.Dispose();
        TryDelete(Dir);
    }

    /// <summary>Removes a folder now (its processes are gone); what remains goes at exit (<see cref="TempFolders"/>).</summary>
    public static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
