using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Relay.Steering.Tests.Harness;

/// <summary>A real HAProxy (Debian package) in front of the gateways: /readyz checks and the agent port.</summary>
internal sealed class HaproxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private HaproxyProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    private readonly List<string> _log = [];

    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log.TakeLast(20));
            }
        }
    }

    private void Capture(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.Add(line);
            }
        }
    }

    public Uri WebSocketUri => new($"ws://127.0.0.1:{Port}/ws");

    public static string? Executable => new[] { "/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists);

    public static HaproxyProcess Start(IEnumerable<GatewayProcess> gateways)
    {
        string dir = Directory.CreateTempSubdirectory("relay-haproxy-").FullName;
        int port = Ports.Free();
        var servers = string.Join('\n', gateways.Select(g =>
            $"  server {g.Id} 127.0.0.1:{g.Port} check inter 200ms fall 2 rise 2 agent-check agent-port {g.AgentPort} agent-inter 200ms weight 100"));
        string config = $"""
            global
              maxconn 4000
              stats socket {dir}/admin.sock mode 600 level admin
            defaults
              mode http
              timeout connect 1s
              timeout client 60s
              timeout server 60s
              timeout tunnel 120s
              option redispatch
              retries 3
            frontend chat
              bind 127.0.0.1:{port}
              default_backend relays
            backend relays
              balance leastconn
              option httpchk GET /readyz
              http-check expect status 200
            {servers}
            """;
        File.WriteAllText(Path.Combine(dir, "haproxy.cfg"), config + "\n");
        var start = new ProcessStartInfo(Executable!, ["-db", "-f", Path.Combine(dir, "haproxy.cfg")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        var haproxy = new HaproxyProcess(process, dir, port);
        process.OutputDataReceived += (_, e) => haproxy.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => haproxy.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return haproxy;
    }

    /// <summary>Server name → HAProxy status (UP, DOWN, DRAIN, MAINT…), from the runtime API.</summary>
    public async Task<IReadOnlyDictionary<string, string>> ServerStatusAsync(CancellationToken token)
    {
        string csv = await CommandAsync("show stat", token);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].TrimStart('#', ' ').Split(',');
        int name = Array.IndexOf(header, "svname"), status = Array.IndexOf(header, "status");
        return lines.Skip(1).Select(l => l.Split(','))
            .Where(f => f.Length > status && f[0] == "relays" && f[name] is not ("BACKEND" or "FRONTEND"))
            .ToDictionary(f => f[name], f => f[status]);
    }

    public async Task WaitForStatusAsync(string server, Func<string, bool> predicate, CancellationToken token)
    {
        string last = "?";
        for (int i = 0; i < 200; i++)
        {
            var statuses = await ServerStatusAsync(token);
            if (statuses.TryGetValue(server, out var s) && predicate(s))
            {
                return;
            }

            last = s ?? "?";
            await Task.Delay(100, token);
        }

        throw new TimeoutException($"HAProxy never showed the expected status for {server}; last was {last}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        }

        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<string> CommandAsync(string command, CancellationToken token)
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException("HAProxy exited: " + Log);
        }

        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(_dir, "admin.sock")), token);
                await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, token);
                var sb = new StringBuilder();
                var buffer = new byte[16384];
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, token)) > 0)
                {
                    sb.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                return sb.ToString();
            }
            catch (SocketException) when (_process.HasExited)
            {
                _process.WaitForExit();
                throw new InvalidOperationException("HAProxy exited: " + Log + "\nconfig:\n" + File.ReadAllText(Path.Combine(_dir, "haproxy.cfg")));
            }
            catch (SocketException) when (attempt < 50)
            {
                await Task.Delay(100, token); // the socket appears a moment after start
            }
        }
    }
}
