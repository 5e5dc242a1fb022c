using System.Net.Sockets;
using System.Text;
using Relay.Testing.Processes;

namespace Relay.Testing.Steering;

/// <summary>
/// A real HAProxy (Debian package) in front of the gateways: /readyz checks and the agent port. It connects to them
/// from <see cref="SourceAddress"/> with a PROXY v2 header (<c>send-proxy-v2</c>), so the gateways (started with
/// <c>Gateway:TrustedProxies</c> = that address) count each client under its own address.
/// </summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    /// <summary>The address HAProxy connects to the gateways from: apart from 127.0.0.1, where tests call the gateways directly.</summary>
    public const string SourceAddress = "127.0.0.2";

    private readonly ChildProcess _process;
    private readonly string _dir;

    private HaproxyProcess(ChildProcess process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The last lines of HAProxy's output.</summary>
    public string Log => _process.Tail(20);

    public Uri WebSocketUri => new($"ws://127.0.0.1:{Port}/ws");

    public static string? Executable => new[] { "/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists);

    public static HaproxyProcess Start(IEnumerable<GatewayProcess> gateways) => Start(gateways.Select(g => (g.Id, g.Port, g.AgentPort)));

    /// <summary>HAProxy in front of gateways started some other way (e.g. by scripts/rolling-upgrade.sh): name, HTTP port, agent port.</summary>
    public static HaproxyProcess Start(IEnumerable<(string Id, int Port, int AgentPort)> gateways)
    {
        string dir = TempFolders.Create("relay-haproxy-");
        int port = Ports.Free();
        var servers = string.Join('\n', gateways.Select(g =>
            $"  server {g.Id} 127.0.0.1:{g.Port} send-proxy-v2 source {SourceAddress} check inter 200ms fall 2 rise 2 agent-check agent-port {g.AgentPort} agent-inter 200ms weight 100"));
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
        var process = ChildProcess.Start("haproxy", [Executable!, "-db", "-f", Path.Combine(dir, "haproxy.cfg")]);
        return new HaproxyProcess(process, dir, port);
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

    public ValueTask DisposeAsync()
    {
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
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
                throw new InvalidOperationException("HAProxy exited: " + Log + "\nconfig:\n" + File.ReadAllText(Path.Combine(_dir, "haproxy.cfg")));
            }
            catch (SocketException) when (attempt < 50)
            {
                await Task.Delay(100, token); // the socket appears a moment after start
            }
        }
    }
}
