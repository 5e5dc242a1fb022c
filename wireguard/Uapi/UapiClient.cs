using System.Net.Sockets;
using System.Text;
using Relay.WireGuard.Config;
using Relay.WireGuard.Devices;

namespace Relay.WireGuard.Uapi;

/// <summary>
/// Talks to a userspace WireGuard device over its unix socket (/var/run/wireguard/&lt;iface&gt;.sock):
/// one connection per request, as `wg` does. No process is started.
/// </summary>
public sealed class UapiClient
{
    /// <summary>Where wireguard-go and boringtun put their sockets.</summary>
    public const string DefaultSocketDirectory = "/var/run/wireguard";

    /// <summary>Largest answer read, 4 MiB (a device with thousands of peers).</summary>
    public const int MaxAnswer = 4 * 1024 * 1024;

    private readonly TimeSpan _timeout;

    /// <summary>Creates a client for <paramref name="interfaceName"/>.</summary>
    public UapiClient(string interfaceName, string socketDirectory = DefaultSocketDirectory, TimeSpan? timeout = null)
    {
        Interface = interfaceName;
        SocketPath = Path.Combine(socketDirectory, interfaceName + ".sock");
        _timeout = timeout ?? TimeSpan.FromSeconds(5);
    }

    /// <summary>The interface name.</summary>
    public string Interface { get; }

    /// <summary>The socket path.</summary>
    public string SocketPath { get; }

    /// <summary>True when the socket file exists.</summary>
    public bool Exists => File.Exists(SocketPath);

    /// <summary>Reads the device's configuration and counters.</summary>
    public async Task<DeviceState> GetAsync(CancellationToken cancellationToken = default)
    {
        string answer = await ExchangeAsync(UapiProtocol.GetRequest, cancellationToken).ConfigureAwait(false);
        var state = UapiProtocol.ParseGet(Interface, answer, out int errno);
        return errno == 0 ? state : throw new IOException($"WireGuard UAPI get on {Interface} failed: errno {errno}");
    }

    /// <summary>Makes the device match <paramref name="config"/> (endpoints must be IP literals).</summary>
    public async Task SetAsync(WireGuardConfig config, CancellationToken cancellationToken = default)
    {
        string answer = await ExchangeAsync(UapiProtocol.BuildSet(config), cancellationToken).ConfigureAwait(false);
        int errno = UapiProtocol.ParseErrno(answer);
        if (errno != 0)
        {
            throw new IOException($"WireGuard UAPI set on {Interface} failed: errno {errno}");
        }
    }

    private async Task<string> ExchangeAsync(string request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), timeout.Token).ConfigureAwait(false);
        byte[] bytes = Encoding.ASCII.GetBytes(request);
        await socket.SendAsync(bytes, SocketFlags.None, timeout.Token).ConfigureAwait(false);

        // The answer ends with a blank line after errno (the device keeps the connection open for more requests).
        var buffer = new byte[16 * 1024];
        var answer = new MemoryStream();
        while (true)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            answer.Write(buffer, 0, read);
            if (answer.Length > MaxAnswer)
            {
                throw new IOException($"WireGuard UAPI answer from {Interface} is larger than {MaxAnswer} bytes");
            }

            if (EndsWithBlankLine(answer))
            {
                break;
            }
        }

        return Encoding.ASCII.GetString(answer.GetBuffer(), 0, (int)answer.Length);
    }

    private static bool EndsWithBlankLine(MemoryStream stream)
    {
        var b = stream.GetBuffer();
        long n = stream.Length;
        return n >= 2 && b[n - 1] == '\n' && b[n - 2] == '\n';
    }
}
